// protoc-c output for proto/{residents}.proto. Written by scripts/generate.sh; only
// the Swift module generated over it imports it.
#ifndef SANLIAN_CRESIDENTSPROTO_H
#define SANLIAN_CRESIDENTSPROTO_H
#include "residents.pb-c.h"
#endif
