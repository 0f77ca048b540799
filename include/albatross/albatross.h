/* libalbatross — deploy and supervise MirageOS/Solo5 unikernels, speaking
 * Albatross's wire protocol. The umbrella header: include this one.
 * SPDX-License-Identifier: ISC */
#ifndef ALBATROSS_H
#define ALBATROSS_H

#include "albatross/common.h"
#include "albatross/log.h"
#include "albatross/name.h"
#include "albatross/wire.h"
#include "albatross/state.h"
#include "albatross/net.h"
#include "albatross/print.h"
#include "albatross/image.h"
#include "albatross/frame.h"
#include "albatross/stream.h"
#include "albatross/client.h"
#include "albatross/tender.h"
#include "albatross/policy.h"
#include "albatross/vmmd.h"
#include "albatross/console.h"
#include "albatross/metrics.h"
#include "albatross/stats.h"
#include "albatross/tlsd.h"
#include "albatross/cert.h"
#include "albatross/remote.h"

#endif
