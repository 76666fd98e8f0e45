/* SPDX-License-Identifier: BSD-3-Clause */
/* store.h compiles on its own: nothing before it. */
#include "store/store.h"
