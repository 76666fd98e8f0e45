/* SPDX-License-Identifier: BSD-3-Clause */
/* store_door.h compiles on its own: nothing before it. */
#include "store/store_door.h"
