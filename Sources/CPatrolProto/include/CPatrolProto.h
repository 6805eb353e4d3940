// protoc-c output for proto/{patrol}.proto. Written by scripts/generate.sh; only
// the Swift module generated over it imports it.
#ifndef SANLIAN_CPATROLPROTO_H
#define SANLIAN_CPATROLPROTO_H
#include "patrol.pb-c.h"
#endif
