// The system protobuf-c runtime (Debian: libprotobuf-c-dev), and a bump allocator for unpacking.
#ifndef SANLIAN_CPROTOBUFC_SHIM_H
#define SANLIAN_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#include <stdlib.h>

// A ProtobufCAllocator that carves unpack's allocations out of a caller's buffer (on the stack,
// from Swift) and falls back to malloc when it is full: decoding a small frame then costs no
// malloc/free pair per string, bytes field, array and sub-message. The buffer starts with this
// header. `free` releases only what came from malloc; the buffer goes away with its owner.
typedef struct {
    size_t used;
    size_t capacity;
    // Allocations that came from malloc: while there are none, free_unpacked has nothing to do.
    size_t mallocs;
} CProtobufC_BumpHeader;

static void *CProtobufC_bumpAlloc(void *data, size_t size) {
    CProtobufC_BumpHeader *header = (CProtobufC_BumpHeader *)data;
    // 16-byte steps keep every C type protobuf-c allocates aligned.
    size_t rounded = (size + 15) & ~(size_t)15;
    if (size <= rounded && rounded <= header->capacity - header->used) {
        void *pointer = (char *)data + header->used;
        header->used += rounded;
        return pointer;
    }
    header->mallocs += 1;
    return malloc(size ? size : 1);
}

static void CProtobufC_bumpFree(void *data, void *pointer) {
    const char *base = (const char *)data;
    const CProtobufC_BumpHeader *header = (const CProtobufC_BumpHeader *)data;
    if ((const char *)pointer >= base && (const char *)pointer < base + header->capacity) return;
    free(pointer);
}

/// An allocator over `buffer` (16-byte aligned, `capacity` bytes, valid while it is in use).
static inline ProtobufCAllocator CProtobufC_bumpAllocator(void *buffer, size_t capacity) {
    CProtobufC_BumpHeader *header = (CProtobufC_BumpHeader *)buffer;
    header->capacity = capacity;
    header->used = (sizeof(CProtobufC_BumpHeader) + 15) & ~(size_t)15;
    header->mallocs = 0;
    ProtobufCAllocator allocator = {CProtobufC_bumpAlloc, CProtobufC_bumpFree, buffer};
    return allocator;
}

/// Whether anything unpacked through the bump `allocator` came from malloc, so that the tree
/// must go through free_unpacked; otherwise it goes away with the buffer, and walking it to free
/// nothing can be skipped.
static inline _Bool CProtobufC_bumpNeedsFree(const ProtobufCAllocator *allocator) {
    return ((const CProtobufC_BumpHeader *)allocator->allocator_data)->mallocs != 0;
}
#endif
