/* SPDX-License-Identifier: BSD-3-Clause */
/* store_evict.h compiles on its own: nothing before it. */
#include "store/store_evict.h"
