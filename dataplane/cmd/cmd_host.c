/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_host (cmd_host.h): alone in its object, so a test linking one
 * family takes this and not the whole table. */
#include "cmd_host.h"

const struct cmd_host *cmd_host;

void cmd_host_set(const struct cmd_host *h)
{
	cmd_host = h;
}
