// The system protobuf-c runtime (Debian: libprotobuf-c-dev), and a bump allocator for unpacking.
#ifndef SANLIAN_CPROTOBUFC_SHIM_H
#define SANLIAN_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
// protobuf-c copies a string field with a NUL terminator and hands it over as a C string, so a
// string that arrives holding a NUL byte reads as cut short there ("a\0b" becomes "a"), without
// an error. CProtobufC_findNULString walks an encoding that protobuf-c has already unpacked, with
// the message's descriptor, and finds the first string field (in nested messages too) whose bytes
// hold a NUL, so that the reader can refuse it instead. It writes the field's dotted path
// ("alert.identifier", "metadata[2].key") into `path` and returns 1; 0 when there is none.
// Anything it cannot read (which unpack would have refused) ends the walk with 0.

static int CProtobufC_readVarint(const uint8_t *data, size_t length, size_t *offset, uint64_t *value) {
    uint64_t result = 0;
    for (unsigned shift = 0; shift < 70 && *offset < length; shift += 7) {
        uint8_t byte = data[(*offset)++];
        if (shift < 64) result |= (uint64_t)(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) {
            *value = result;
            return 1;
        }
    }
    return 0;
}

static void CProtobufC_appendPath(char *path, size_t capacity, size_t at, const char *name, long index) {
    if (at >= capacity) return;
    if (index >= 0) {
        snprintf(path + at, capacity - at, "%s%s[%ld]", at > 0 ? "." : "", name, index);
    } else {
        snprintf(path + at, capacity - at, "%s%s", at > 0 ? "." : "", name);
    }
}

static int CProtobufC_findNULStringAt(
    const ProtobufCMessageDescriptor *descriptor, const uint8_t *data, size_t length, char *path, size_t capacity,
    int depth
) {
    // Deeper than any contract nests; protobuf-c's own recursion is the bound that matters.
    if (depth > 64) return 0;
    size_t at = strlen(path);
    // Occurrences of each repeated field seen so far, for the index in the path; by field number,
    // bounded: the contracts' field numbers are small.
    unsigned counts[64] = {0};
    size_t offset = 0;
    while (offset < length) {
        uint64_t tag;
        if (!CProtobufC_readVarint(data, length, &offset, &tag)) return 0;
        uint32_t number = (uint32_t)(tag >> 3);
        switch (tag & 7) {
        case 0: {
            uint64_t ignored;
            if (!CProtobufC_readVarint(data, length, &offset, &ignored)) return 0;
            break;
        }
        case 1:
            if (length - offset < 8) return 0;
            offset += 8;
            break;
        case 5:
            if (length - offset < 4) return 0;
            offset += 4;
            break;
        case 2: {
            uint64_t size;
            if (!CProtobufC_readVarint(data, length, &offset, &size) || size > length - offset) return 0;
            const uint8_t *content = data + offset;
            offset += (size_t)size;
            const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field(descriptor, number);
            if (field == NULL) break;
            long index = -1;
            if (field->label == PROTOBUF_C_LABEL_REPEATED) index = number < 64 ? (long)counts[number]++ : 0;
            if (field->type == PROTOBUF_C_TYPE_STRING) {
                if (memchr(content, 0, (size_t)size) != NULL) {
                    CProtobufC_appendPath(path, capacity, at, field->name, index);
                    return 1;
                }
            } else if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
                CProtobufC_appendPath(path, capacity, at, field->name, index);
                if (CProtobufC_findNULStringAt(
                        (const ProtobufCMessageDescriptor *)field->descriptor, content, (size_t)size, path, capacity,
                        depth + 1
                    ))
                    return 1;
                path[at < capacity ? at : capacity - 1] = 0;
            }
            break;
        }
        default:
            return 0;
        }
    }
    return 0;
}

/// Whether a string field anywhere in `data` (an encoding of a message of `descriptor` that
/// unpacked) holds a NUL byte; its dotted path is then in `path`.
static inline int CProtobufC_findNULString(
    const ProtobufCMessageDescriptor *descriptor, const uint8_t *data, size_t length, char *path, size_t capacity
) {
    if (capacity == 0) return 0;
    path[0] = 0;
    // No zero byte at all, no NUL in a string: the usual case costs one memchr.
    if (length == 0 || memchr(data, 0, length) == NULL) return 0;
    return CProtobufC_findNULStringAt(descriptor, data, length, path, capacity, 0);
}
#endif
