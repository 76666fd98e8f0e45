/* SPDX-License-Identifier: BSD-3-Clause */
/* store_obj.h compiles on its own: nothing before it. */
#include "store/store_obj.h"
