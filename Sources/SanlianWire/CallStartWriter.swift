/// A forwarded call's CallStart written by hand: the bytes protobuf-c packs for a
/// `CallStartHeader` with the stamped metadata entries and the payload field attached as unknown
/// fields (`FrameRelay.writeStart`), without filling and packing protobuf-c's structures. Known
/// fields in field-number order, each only when it is not its default (proto3), then the unknown
/// fields in order: exactly protobuf-c's layout, which `CallStartWriterTests` compares byte for
/// byte. It runs for every call the broker forwards.
///
/// A string with a NUL byte is left to protobuf-c (`size` is nil), whose refusal of it stays the
/// one the caller hears.
struct CallStartWriter {
    let header: RPCV1.CallStartHeader
    let encodedMetadata: EncodedMetadataEntries?
    let payloadField: [UInt8]

    // Tags of CallStart's fields (field number << 3 | wire type), and MetadataEntry's.
    private static let methodTag: UInt8 = 0x0A
    private static let timeoutTag: UInt8 = 0x10
    private static let metadataTag: UInt8 = 0x1A
    private static let payloadTag: UInt8 = 0x22
    private static let halfCloseTag: UInt8 = 0x28
    private static let windowTag: UInt8 = 0x30
    private static let entryKeyTag: UInt8 = 0x0A
    private static let entryValueTag: UInt8 = 0x12

    /// The bytes `write` writes; nil when protobuf-c is to pack it instead.
    func size() -> Int? {
        guard let method = Self.stringSize(header.method) else { return nil }
        var size = method
        if header.timeoutMicros != 0 { size += 1 + FrameLayout.varintSize(header.timeoutMicros) }
        for entry in header.metadata {
            guard let key = Self.stringSize(entry.key), let value = Self.stringSize(entry.value) else { return nil }
            size += 1 + FrameLayout.varintSize(UInt64(key + value)) + key + value
        }
        if header.halfClose { size += 2 }
        if header.initialWindow != 0 { size += 1 + FrameLayout.varintSize(UInt64(header.initialWindow)) }
        if let encodedMetadata { size += encodedMetadata.count + encodedMetadata.byteCount }
        if !payloadField.isEmpty { size += 1 + payloadField.count }
        return size
    }

    /// Writes the `size()` bytes at `out`; call only when `size()` is not nil.
    /// - Returns: the bytes written.
    func write(to out: UnsafeMutablePointer<UInt8>) -> Int {
        let raw = UnsafeMutableRawPointer(out)
        var index = 0
        Self.writeString(header.method, tag: Self.methodTag, to: raw, at: &index)
        if header.timeoutMicros != 0 {
            Self.store(Self.timeoutTag, raw, &index)
            FrameLayout.storeVarint(header.timeoutMicros, in: raw, at: &index)
        }
        for entry in header.metadata {
            Self.store(Self.metadataTag, raw, &index)
            let entrySize = Self.stringFieldSize(entry.key.utf8.count) + Self.stringFieldSize(entry.value.utf8.count)
            FrameLayout.storeVarint(UInt64(entrySize), in: raw, at: &index)
            Self.writeString(entry.key, tag: Self.entryKeyTag, to: raw, at: &index)
            Self.writeString(entry.value, tag: Self.entryValueTag, to: raw, at: &index)
        }
        if header.halfClose {
            Self.store(Self.halfCloseTag, raw, &index)
            Self.store(1, raw, &index)
        }
        if header.initialWindow != 0 {
            Self.store(Self.windowTag, raw, &index)
            FrameLayout.storeVarint(UInt64(header.initialWindow), in: raw, at: &index)
        }
        encodedMetadata?.forEachEntry { entry in
            Self.store(Self.metadataTag, raw, &index)
            Self.copy(entry, raw, &index)
        }
        if !payloadField.isEmpty {
            Self.store(Self.payloadTag, raw, &index)
            payloadField.withUnsafeBytes { Self.copy($0, raw, &index) }
        }
        return index
    }

    /// The bytes of string field with `text` (tag, length, bytes; none when empty); nil when it
    /// holds a NUL byte, which protobuf-c, reading C strings, would cut it at.
    private static func stringSize(_ text: String) -> Int? {
        let count = text.utf8.count
        guard count > 0 else { return 0 }
        let hasNUL = text.utf8.withContiguousStorageIfAvailable { $0.contains(0) } ?? text.utf8.contains(0)
        return hasNUL ? nil : stringFieldSize(count)
    }

    /// The bytes of a string field of `count` bytes: none when empty (proto3's default).
    private static func stringFieldSize(_ count: Int) -> Int {
        count == 0 ? 0 : 1 + FrameLayout.varintSize(UInt64(count)) + count
    }

    private static func writeString(
        _ text: String,
        tag: UInt8,
        to out: UnsafeMutableRawPointer,
        at index: inout Int
    ) {
        let count = text.utf8.count
        guard count > 0 else { return }
        store(tag, out, &index)
        FrameLayout.storeVarint(UInt64(count), in: out, at: &index)
        if text.utf8.withContiguousStorageIfAvailable({ copy(UnsafeRawBufferPointer($0), out, &index) }) == nil {
            for byte in text.utf8 { store(byte, out, &index) }
        }
    }

    private static func store(_ byte: UInt8, _ out: UnsafeMutableRawPointer, _ index: inout Int) {
        out.storeBytes(of: byte, toByteOffset: index, as: UInt8.self)
        index += 1
    }

    private static func copy(_ bytes: UnsafeRawBufferPointer, _ out: UnsafeMutableRawPointer, _ index: inout Int) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        (out + index).copyMemory(from: base, byteCount: bytes.count)
        index += bytes.count
    }
}
