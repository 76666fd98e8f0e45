/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmd_params (cmd_pvt.h): the command families' cfg view.  Alone in its
 * object, so a test linking one family takes this and cfg, not the table.
 */
#include "cfg.h"
#include "cmd_pvt.h"

static int cmd_params_id = -1;

static void cmd_params_build(const struct cfg *c, void *view)
{
	struct cmd_params *p = view;
	enum cfg_policy pol = c->maxmemory_policy;

	p->proto_max_bulk_len = c->proto_max_bulk_len;
	p->maxmemory = c->maxmemory;
	p->policy_lru =
	    pol == CFG_POLICY_ALLKEYS_LRU || pol == CFG_POLICY_VOLATILE_LRU;
	p->policy_lfu =
	    pol == CFG_POLICY_ALLKEYS_LFU || pol == CFG_POLICY_VOLATILE_LFU;
	/* The snapshot's own string: the view is built into that snapshot
	 * and freed with it, so the pointer lives exactly as long. */
	p->requirepass = c->requirepass;
}

int cmd_params_setup(void)
{
	cmd_params_id =
	    cfg_view_register(sizeof(struct cmd_params), cmd_params_build);
	return cmd_params_id < 0 ? cmd_params_id : 0;
}

const struct cmd_params *cmd_params(void)
{
	return cfg_view(cmd_params_id);
}
