#define _GNU_SOURCE
#include "CSanlianSystem.h"

#include <errno.h>
#include <stdint.h>

#ifdef __linux__
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

struct Release {
    long bytes;
    int failed;
    int objects;
};

static int releaseSegments(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct Release *release = data;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    for (ElfW(Half) index = 0; index < info->dlpi_phnum; index++) {
        const ElfW(Phdr) *header = &info->dlpi_phdr[index];
        if (header->p_type != PT_LOAD || (header->p_flags & PF_W) != 0) continue;
        // Segments start on pages of their own (p_vaddr ≡ p_offset modulo the page size, and
        // the linker never puts two segments on one page of address space).
        uintptr_t start = (info->dlpi_addr + header->p_vaddr) & ~(page - 1);
        uintptr_t end = (info->dlpi_addr + header->p_vaddr + header->p_memsz + page - 1) & ~(page - 1);
        if (madvise((void *)start, end - start, MADV_DONTNEED) != 0) {
            release->failed = errno;
            return 1;
        }
        release->bytes += (long)(end - start);
    }
    return 0;
}

/// Whether the loader wrote into the object's read-only segments (text relocations): those
/// pages are private copies now, and dropping them would bring back the unrelocated file.
static int hasTextRelocations(const struct dl_phdr_info *info) {
    for (ElfW(Half) index = 0; index < info->dlpi_phnum; index++) {
        const ElfW(Phdr) *header = &info->dlpi_phdr[index];
        if (header->p_type != PT_DYNAMIC) continue;
        for (const ElfW(Dyn) *entry = (const ElfW(Dyn) *)(info->dlpi_addr + header->p_vaddr); entry->d_tag != DT_NULL;
             entry++) {
            if (entry->d_tag == DT_TEXTREL) return 1;
            if (entry->d_tag == DT_FLAGS && (entry->d_un.d_val & DF_TEXTREL) != 0) return 1;
        }
    }
    return 0;
}

/// The program (the first object, with no name) and the shared libraries loaded from files; not
/// the vDSO, the kernel's own mapping, nor an object with text relocations.
static int releaseObjectSegments(struct dl_phdr_info *info, size_t size, void *data) {
    struct Release *release = data;
    const int isProgram = release->objects++ == 0;
    if (!isProgram && (info->dlpi_name == NULL || info->dlpi_name[0] != '/')) return 0;
    if (hasTextRelocations(info)) return 0;
    return releaseSegments(info, size, data);
}

long CSanlianSystem_releaseReadOnlyImagePages(void) {
    struct Release release = {0, 0, 0};
    dl_iterate_phdr(releaseObjectSegments, &release);
    return release.failed != 0 ? -(long)release.failed : release.bytes;
}
#else
long CSanlianSystem_releaseReadOnlyImagePages(void) {
    return 0;
}
#endif
