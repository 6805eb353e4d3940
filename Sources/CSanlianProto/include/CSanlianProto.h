// protoc-c output for proto/*.proto. Written by scripts/generate.sh; only SanlianWire imports it.
#ifndef SANLIAN_CSANLIANPROTO_H
#define SANLIAN_CSANLIANPROTO_H
#include "alert.pb-c.h"
#include "broker.pb-c.h"
#include "common.pb-c.h"
#include "echo.pb-c.h"
#include "hazards.pb-c.h"
#include "health.pb-c.h"
#include "patrol.pb-c.h"
#include "residents.pb-c.h"
#include "rpc.pb-c.h"
#endif
