// protoc-c output for proto/{alert,broker,common,echo,health,rpc,standin}.proto. Written by scripts/generate.sh; only
// the Swift module generated over it imports it.
#ifndef SANLIAN_CSANLIANPROTO_H
#define SANLIAN_CSANLIANPROTO_H
#include "alert.pb-c.h"
#include "broker.pb-c.h"
#include "common.pb-c.h"
#include "echo.pb-c.h"
#include "health.pb-c.h"
#include "rpc.pb-c.h"
#include "standin.pb-c.h"
#endif
