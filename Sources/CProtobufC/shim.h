// The system protobuf-c runtime (Debian: libprotobuf-c-dev).
#ifndef SANLIAN_CPROTOBUFC_SHIM_H
#define SANLIAN_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#endif
