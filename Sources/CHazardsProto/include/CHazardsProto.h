// protoc-c output for proto/{hazards}.proto. Written by scripts/generate.sh; only
// the Swift module generated over it imports it.
#ifndef SANLIAN_CHAZARDSPROTO_H
#define SANLIAN_CHAZARDSPROTO_H
#include "hazards.pb-c.h"
#endif
