// protoc-c output for proto/{station}.proto. Written by scripts/generate.sh; only
// the Swift module generated over it imports it.
#ifndef SANLIAN_CSTATIONPROTO_H
#define SANLIAN_CSTATIONPROTO_H
#include "station.pb-c.h"
#endif
