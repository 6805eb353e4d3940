/* Load generator for `make bench`: one program drives both the C floor (raw length-prefixed
 * frames) and Sanlian (the real protocol, encoded with protobuf-c exactly as docs/PROTOCOL.md
 * describes), so the client's own cost is the same on both sides of every ratio.
 *
 * usage:
 *   bench_client raw      SOCKET SIZE SEQUENTIAL INFLIGHT MILLISECONDS
 *   bench_client echo     SOCKET SIZE SEQUENTIAL INFLIGHT MILLISECONDS DEPARTMENT CREDENTIAL_FILE
 *   bench_client publish  SOCKET COUNT INFLIGHT DEPARTMENT CREDENTIAL_FILE
 *   bench_client subscribe SOCKET COUNT NAME DEPARTMENT CREDENTIAL_FILE
 * Prints one JSON object with the figures. */
#include "common.h"

#include "CSanlianProto.h"

/* ---- buffered frame reader ---- */

typedef struct {
    int fd;
    uint8_t *data;
    size_t start, end, capacity;
} Reader;

static void reader_init(Reader *reader, int fd) {
    reader->fd = fd;
    reader->capacity = 1 << 22;
    reader->data = malloc(reader->capacity);
    reader->start = reader->end = 0;
}

/* Returns a pointer to the next frame body (valid until the next call) and its length. */
static const uint8_t *read_frame(Reader *reader, uint32_t *length) {
    for (;;) {
        size_t available = reader->end - reader->start;
        if (available >= 4) {
            uint32_t body = get_u32(reader->data + reader->start);
            if (available >= 4 + (size_t)body) {
                const uint8_t *frame = reader->data + reader->start + 4;
                reader->start += 4 + body;
                *length = body;
                return frame;
            }
        }
        if (reader->start > 0) {
            memmove(reader->data, reader->data + reader->start, available);
            reader->end = available;
            reader->start = 0;
        }
        ssize_t got = read(reader->fd, reader->data + reader->end, reader->capacity - reader->end);
        if (got <= 0) {
            if (got < 0 && errno == EINTR) continue;
            fprintf(stderr, "bench_client: connection closed\n");
            exit(1);
        }
        reader->end += (size_t)got;
    }
}

/* ---- Sanlian frames ---- */

static size_t pack_frame(Sanlian__Rpc__V1__Frame *frame, uint8_t *out) {
    size_t size = sanlian__rpc__v1__frame__pack(frame, out + 4);
    put_u32(out, (uint32_t)size);
    return size + 4;
}

static void send_frame(int fd, Sanlian__Rpc__V1__Frame *frame) {
    size_t size = sanlian__rpc__v1__frame__get_packed_size(frame);
    uint8_t *buffer = malloc(size + 4);
    pack_frame(frame, buffer);
    if (write_all(fd, buffer, size + 4) < 0) die("write");
    free(buffer);
}

static Sanlian__Rpc__V1__Frame *receive_frame(Reader *reader) {
    uint32_t length;
    const uint8_t *body = read_frame(reader, &length);
    Sanlian__Rpc__V1__Frame *frame = sanlian__rpc__v1__frame__unpack(NULL, length, body);
    if (!frame) {
        fprintf(stderr, "bench_client: malformed frame\n");
        exit(1);
    }
    return frame;
}

static void handshake(int fd, Reader *reader, const char *department, const char *credential_file) {
    char secret[256] = {0};
    FILE *file = fopen(credential_file, "r");
    if (!file || !fgets(secret, sizeof(secret), file)) die("credential file");
    fclose(file);
    secret[strcspn(secret, "\r\n")] = 0;
    Sanlian__Rpc__V1__Hello hello;
    sanlian__rpc__v1__hello__init(&hello);
    hello.protocol_version = 1;
    hello.department = (char *)department;
    hello.operator_id = ""; /* the department alone: operators are the compose file's people */
    hello.credential.data = (uint8_t *)secret;
    hello.credential.len = strlen(secret);
    hello.client_name = "bench_client";
    hello.max_frame_bytes = 1 << 20;
    Sanlian__Rpc__V1__Frame frame;
    sanlian__rpc__v1__frame__init(&frame);
    frame.kind_case = SANLIAN__RPC__V1__FRAME__KIND_HELLO;
    frame.hello = &hello;
    send_frame(fd, &frame);
    Sanlian__Rpc__V1__Frame *answer = receive_frame(reader);
    if (answer->kind_case != SANLIAN__RPC__V1__FRAME__KIND_WELCOME) {
        fprintf(stderr, "bench_client: handshake refused\n");
        exit(1);
    }
    sanlian__rpc__v1__frame__free_unpacked(answer, NULL);
}

/* A CallStart frame for `method` with `payload`, packed once and reused with a new call id. */
typedef struct {
    uint8_t *bytes;
    size_t length;
} Packed;

static Packed pack_call(uint32_t call_id, const char *method, const uint8_t *payload, size_t payload_length,
                        uint32_t window) {
    Sanlian__Rpc__V1__CallStart start;
    sanlian__rpc__v1__call_start__init(&start);
    start.method = (char *)method;
    start.timeout_micros = 30000000;
    start.payload.data = (uint8_t *)payload;
    start.payload.len = payload_length;
    start.half_close = 1;
    start.initial_window = window;
    Sanlian__Rpc__V1__Frame frame;
    sanlian__rpc__v1__frame__init(&frame);
    frame.call_id = call_id;
    frame.kind_case = SANLIAN__RPC__V1__FRAME__KIND_START;
    frame.start = &start;
    Packed packed;
    packed.length = sanlian__rpc__v1__frame__get_packed_size(&frame) + 4;
    packed.bytes = malloc(packed.length);
    pack_frame(&frame, packed.bytes);
    return packed;
}

static int is_ok_end(Sanlian__Rpc__V1__Frame *frame) {
    return frame->kind_case == SANLIAN__RPC__V1__FRAME__KIND_END &&
           (!frame->end->status || frame->end->status->code == SANLIAN__RPC__V1__STATUS_CODE__OK);
}

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- round trips: raw or Sanlian echo ---- */

typedef struct {
    int sanlian;
    int fd;
    Reader reader;
    uint8_t *request;  /* raw: a whole frame; Sanlian: EchoRequest bytes */
    size_t request_length;
    uint32_t next_call;
} Link;

static void send_one(Link *link) {
    if (!link->sanlian) {
        if (write_all(link->fd, link->request, link->request_length) < 0) die("write");
        return;
    }
    Packed packed = pack_call(link->next_call, "/sanlian.echo.v1.Echo/Echo", link->request, link->request_length, 0);
    link->next_call += 2;
    if (write_all(link->fd, packed.bytes, packed.length) < 0) die("write");
    free(packed.bytes);
}

static void receive_one(Link *link) {
    if (!link->sanlian) {
        uint32_t length;
        read_frame(&link->reader, &length);
        return;
    }
    Sanlian__Rpc__V1__Frame *frame = receive_frame(&link->reader);
    if (!is_ok_end(frame)) {
        fprintf(stderr, "bench_client: call failed (kind %d)\n", frame->kind_case);
        exit(1);
    }
    sanlian__rpc__v1__frame__free_unpacked(frame, NULL);
}

static int round_trips(int sanlian, int argc, char **argv) {
    if (argc < 7 + (sanlian ? 2 : 0)) {
        fprintf(stderr, "bench_client: missing arguments\n");
        return 2;
    }
    const char *path = argv[2];
    size_t size = strtoul(argv[3], NULL, 10);
    int sequential = atoi(argv[4]);
    int inflight = atoi(argv[5]);
    uint64_t milliseconds = strtoull(argv[6], NULL, 10);
    Link link = {.sanlian = sanlian, .fd = unix_connect(path), .next_call = 1};
    reader_init(&link.reader, link.fd);
    uint8_t *payload = malloc(size);
    for (size_t i = 0; i < size; i++) payload[i] = (uint8_t)i;
    if (sanlian) {
        handshake(link.fd, &link.reader, argv[7], argv[8]);
        Sanlian__Echo__V1__EchoRequest request;
        sanlian__echo__v1__echo_request__init(&request);
        request.payload.data = payload;
        request.payload.len = size;
        link.request_length = sanlian__echo__v1__echo_request__get_packed_size(&request);
        link.request = malloc(link.request_length);
        sanlian__echo__v1__echo_request__pack(&request, link.request);
    } else {
        link.request_length = size + 4;
        link.request = malloc(link.request_length);
        put_u32(link.request, (uint32_t)size);
        memcpy(link.request + 4, payload, size);
    }
    /* Warm up, then sequential round trips. */
    for (int i = 0; i < 200; i++) {
        send_one(&link);
        receive_one(&link);
    }
    uint64_t *latencies = malloc(sizeof(uint64_t) * (size_t)sequential);
    uint64_t cpu_start = cpu_ns();
    for (int i = 0; i < sequential; i++) {
        uint64_t start = now_ns();
        send_one(&link);
        receive_one(&link);
        latencies[i] = now_ns() - start;
    }
    double cpu_per_call = (cpu_ns() - cpu_start) / 1000.0 / sequential;
    qsort(latencies, (size_t)sequential, sizeof(uint64_t), compare_u64);
    double p50 = latencies[sequential / 2] / 1000.0;
    double p99 = latencies[(size_t)(sequential * 0.99)] / 1000.0;
    /* Throughput with `inflight` calls outstanding. */
    for (int i = 0; i < inflight; i++) send_one(&link);
    uint64_t completed = 0;
    uint64_t start = now_ns();
    uint64_t deadline = start + milliseconds * 1000000ull;
    for (;;) {
        receive_one(&link);
        completed++;
        if ((completed & 63) == 0 && now_ns() >= deadline) break;
        send_one(&link);
    }
    double seconds = (now_ns() - start) / 1e9;
    for (int i = 0; i < inflight - 1; i++) receive_one(&link);
    /* calls: every round trip made, warm-up included, for a caller dividing other processes' CPU. */
    printf("{\"p50_us\": %.1f, \"p99_us\": %.1f, \"calls_per_second\": %.0f, \"client_cpu_us\": %.2f, "
           "\"calls\": %llu}\n",
           p50, p99, completed / seconds, cpu_per_call,
           (unsigned long long)(200 + (uint64_t)sequential + completed + (uint64_t)inflight - 1));
    return 0;
}

/* ---- durable alert publishing ---- */

static Packed pack_publish(uint32_t call_id, uint64_t index) {
    char identifier[64], fingerprint[64];
    snprintf(identifier, sizeof(identifier), "bench-%d-%llu", (int)getpid(), (unsigned long long)index);
    snprintf(fingerprint, sizeof(fingerprint), "bench:%llu", (unsigned long long)(index % 100));
    Sanlian__Alert__V1__Alert alert;
    sanlian__alert__v1__alert__init(&alert);
    alert.identifier = identifier;
    alert.status = SANLIAN__ALERT__V1__ALERT_STATUS__ALERT_STATUS_ACTUAL;
    alert.msg_type = SANLIAN__ALERT__V1__MESSAGE_TYPE__MESSAGE_TYPE_ALERT;
    alert.subject = "alert.hazards.bench";
    alert.category = SANLIAN__ALERT__V1__CATEGORY__CATEGORY_TRAFFIC;
    alert.severity = SANLIAN__ALERT__V1__SEVERITY__SEVERITY_MINOR;
    alert.headline = "bench alert";
    alert.fingerprint = fingerprint;
    Sanlian__Broker__V1__PublishAlertRequest request;
    sanlian__broker__v1__publish_alert_request__init(&request);
    request.alert = &alert;
    size_t size = sanlian__broker__v1__publish_alert_request__get_packed_size(&request);
    uint8_t *payload = malloc(size);
    sanlian__broker__v1__publish_alert_request__pack(&request, payload);
    Packed packed = pack_call(call_id, "/sanlian.broker.v1.Broker/PublishAlert", payload, size, 0);
    free(payload);
    return packed;
}

static int publish(int argc, char **argv) {
    if (argc < 7) return 2;
    int fd = unix_connect(argv[2]);
    uint64_t count = strtoull(argv[3], NULL, 10);
    int inflight = atoi(argv[4]);
    Reader reader;
    reader_init(&reader, fd);
    handshake(fd, &reader, argv[5], argv[6]);
    uint32_t call = 1;
    uint64_t sent = 0, acknowledged = 0, duplicates = 0;
    uint64_t start = now_ns();
    while (sent < count && sent < (uint64_t)inflight) {
        Packed packed = pack_publish(call, sent++);
        call += 2;
        if (write_all(fd, packed.bytes, packed.length) < 0) die("write");
        free(packed.bytes);
    }
    while (acknowledged < count) {
        Sanlian__Rpc__V1__Frame *frame = receive_frame(&reader);
        if (!is_ok_end(frame)) {
            fprintf(stderr, "bench_client: publish failed: %s\n",
                    frame->kind_case == SANLIAN__RPC__V1__FRAME__KIND_END && frame->end->status
                        ? frame->end->status->message : "?");
            exit(1);
        }
        Sanlian__Broker__V1__PublishAlertResponse *response = sanlian__broker__v1__publish_alert_response__unpack(
            NULL, frame->end->payload.len, frame->end->payload.data);
        if (response && response->duplicate) duplicates++;
        if (response) sanlian__broker__v1__publish_alert_response__free_unpacked(response, NULL);
        sanlian__rpc__v1__frame__free_unpacked(frame, NULL);
        acknowledged++;
        if (sent < count) {
            Packed packed = pack_publish(call, sent++);
            call += 2;
            if (write_all(fd, packed.bytes, packed.length) < 0) die("write");
            free(packed.bytes);
        }
    }
    double seconds = (now_ns() - start) / 1e9;
    printf("{\"alerts\": %llu, \"duplicates\": %llu, \"alerts_per_second\": %.0f}\n", (unsigned long long)acknowledged,
           (unsigned long long)duplicates, acknowledged / seconds);
    return 0;
}

/* ---- durable subscription delivery ---- */

static int subscribe(int argc, char **argv) {
    if (argc < 7) return 2;
    int fd = unix_connect(argv[2]);
    uint64_t count = strtoull(argv[3], NULL, 10);
    const char *name = argv[4];
    Reader reader;
    reader_init(&reader, fd);
    handshake(fd, &reader, argv[5], argv[6]);
    Sanlian__Broker__V1__SubscribeLedgerRequest request;
    sanlian__broker__v1__subscribe_ledger_request__init(&request);
    request.name = (char *)name;
    request.subject_pattern = "alert.hazards.bench";
    request.max_in_flight = 4096;
    uint8_t payload[256];
    size_t size = sanlian__broker__v1__subscribe_ledger_request__pack(&request, payload);
    const uint32_t window = 1024;
    Packed start = pack_call(1, "/sanlian.broker.v1.Broker/SubscribeLedger", payload, size, window);
    if (write_all(fd, start.bytes, start.length) < 0) die("write");
    uint64_t received = 0, since_grant = 0;
    uint64_t acks[512];
    size_t pending_acks = 0;
    uint32_t call = 3;
    uint64_t begin = now_ns();
    while (received < count) {
        Sanlian__Rpc__V1__Frame *frame = receive_frame(&reader);
        if (frame->call_id == 1 && frame->kind_case == SANLIAN__RPC__V1__FRAME__KIND_MESSAGE) {
            Sanlian__Broker__V1__LedgerDelivery *delivery = sanlian__broker__v1__ledger_delivery__unpack(
                NULL, frame->message->payload.len, frame->message->payload.data);
            if (delivery && delivery->event) acks[pending_acks++] = delivery->event->sequence;
            if (delivery) sanlian__broker__v1__ledger_delivery__free_unpacked(delivery, NULL);
            received++;
            since_grant++;
        } else if (frame->call_id == 1) {
            fprintf(stderr, "bench_client: subscription ended early\n");
            exit(1);
        }
        sanlian__rpc__v1__frame__free_unpacked(frame, NULL);
        if (pending_acks == 512 || received == count) {
            Sanlian__Broker__V1__AckLedgerRequest ack;
            sanlian__broker__v1__ack_ledger_request__init(&ack);
            ack.name = (char *)name;
            ack.n_sequences = pending_acks;
            ack.sequences = acks;
            uint8_t ack_payload[8192];
            size_t ack_size = sanlian__broker__v1__ack_ledger_request__pack(&ack, ack_payload);
            Packed packed = pack_call(call, "/sanlian.broker.v1.Broker/AckLedger", ack_payload, ack_size, 0);
            call += 2;
            if (write_all(fd, packed.bytes, packed.length) < 0) die("write");
            free(packed.bytes);
            pending_acks = 0;
        }
        if (since_grant >= window / 2) {
            Sanlian__Rpc__V1__WindowUpdate update;
            sanlian__rpc__v1__window_update__init(&update);
            update.messages = (uint32_t)since_grant;
            Sanlian__Rpc__V1__Frame grant;
            sanlian__rpc__v1__frame__init(&grant);
            grant.call_id = 1;
            grant.kind_case = SANLIAN__RPC__V1__FRAME__KIND_WINDOW_UPDATE;
            grant.window_update = &update;
            send_frame(fd, &grant);
            since_grant = 0;
        }
    }
    double seconds = (now_ns() - begin) / 1e9;
    printf("{\"events\": %llu, \"events_per_second\": %.0f}\n", (unsigned long long)received, received / seconds);
    return 0;
}

/* ---- any unary method: pre-encoded requests, taken in turn ----
 * unary SOCKET METHOD PAYLOADS SEQUENTIAL TOTAL INFLIGHT DEPARTMENT CREDENTIAL_FILE
 * PAYLOADS holds the requests, each a 4-byte big-endian length and the encoded message. Measures
 * SEQUENTIAL round trips (p50, p99), then TOTAL calls with INFLIGHT outstanding (calls/s and the
 * p50 and p99 of each call's time under that load). */

static int unary(int argc, char **argv) {
    if (argc < 10) {
        fprintf(stderr, "bench_client: unary SOCKET METHOD PAYLOADS SEQUENTIAL TOTAL INFLIGHT DEPARTMENT CREDENTIAL_FILE\n");
        return 2;
    }
    const char *method = argv[3];
    FILE *file = fopen(argv[4], "rb");
    if (!file) die("payloads");
    uint8_t **payloads = NULL;
    size_t *lengths = NULL, count = 0;
    for (;;) {
        uint8_t header[4];
        if (fread(header, 1, 4, file) != 4) break;
        size_t length = ((size_t)header[0] << 24) | ((size_t)header[1] << 16) | ((size_t)header[2] << 8) | header[3];
        payloads = realloc(payloads, sizeof(uint8_t *) * (count + 1));
        lengths = realloc(lengths, sizeof(size_t) * (count + 1));
        payloads[count] = malloc(length ? length : 1);
        if (length && fread(payloads[count], 1, length, file) != length) die("payloads: truncated");
        lengths[count++] = length;
    }
    fclose(file);
    if (count == 0) {
        fprintf(stderr, "bench_client: no requests in %s\n", argv[4]);
        return 2;
    }
    int sequential = atoi(argv[5]);
    uint64_t total = strtoull(argv[6], NULL, 10);
    int inflight = atoi(argv[7]);
    int fd = unix_connect(argv[2]);
    Reader reader;
    reader_init(&reader, fd);
    handshake(fd, &reader, argv[8], argv[9]);
    uint64_t sent = 0;
    uint64_t *started = calloc((size_t)(sequential + total + 1), sizeof(uint64_t));
#define SEND_NEXT() do { \
        Packed packed = pack_call((uint32_t)(1 + 2 * sent), method, payloads[sent % count], lengths[sent % count], 0); \
        started[sent] = now_ns(); \
        sent++; \
        if (write_all(fd, packed.bytes, packed.length) < 0) die("write"); \
        free(packed.bytes); \
    } while (0)
#define RECEIVE_ONE(latency) do { \
        Sanlian__Rpc__V1__Frame *frame = receive_frame(&reader); \
        if (!is_ok_end(frame)) { \
            fprintf(stderr, "bench_client: %s failed: %s\n", method, \
                    frame->kind_case == SANLIAN__RPC__V1__FRAME__KIND_END && frame->end->status \
                        ? frame->end->status->message : "an unexpected frame"); \
            exit(1); \
        } \
        latency = now_ns() - started[(frame->call_id - 1) / 2]; \
        sanlian__rpc__v1__frame__free_unpacked(frame, NULL); \
    } while (0)
    uint64_t *latencies = malloc(sizeof(uint64_t) * (size_t)(sequential > 0 ? sequential : 1));
    for (int i = 0; i < sequential; i++) {
        SEND_NEXT();
        RECEIVE_ONE(latencies[i]);
    }
    qsort(latencies, (size_t)sequential, sizeof(uint64_t), compare_u64);
    uint64_t *loaded = malloc(sizeof(uint64_t) * (size_t)(total ? total : 1));
    uint64_t begin = now_ns(), received = 0;
    for (int i = 0; i < inflight && (uint64_t)i < total; i++) SEND_NEXT();
    while (received < total) {
        RECEIVE_ONE(loaded[received]);
        received++;
        if (sent < (uint64_t)sequential + total) SEND_NEXT();
    }
    double seconds = (now_ns() - begin) / 1e9;
    qsort(loaded, (size_t)total, sizeof(uint64_t), compare_u64);
    printf("{\"p50_us\": %.1f, \"p99_us\": %.1f, \"calls_per_second\": %.0f, \"loaded_p50_us\": %.1f, "
           "\"loaded_p99_us\": %.1f, \"calls\": %llu}\n",
           sequential ? latencies[sequential / 2] / 1000.0 : 0, sequential ? latencies[(size_t)(sequential * 0.99)] / 1000.0 : 0,
           total / seconds, total ? loaded[total / 2] / 1000.0 : 0, total ? loaded[(size_t)(total * 0.99)] / 1000.0 : 0,
           (unsigned long long)sent);
#undef SEND_NEXT
#undef RECEIVE_ONE
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_client raw|echo|publish|subscribe|unary ...\n");
        return 2;
    }
    if (!strcmp(argv[1], "raw")) return round_trips(0, argc, argv);
    if (!strcmp(argv[1], "echo")) return round_trips(1, argc, argv);
    if (!strcmp(argv[1], "publish")) return publish(argc, argv);
    if (!strcmp(argv[1], "subscribe")) return subscribe(argc, argv);
    if (!strcmp(argv[1], "unary")) return unary(argc, argv);
    fprintf(stderr, "bench_client: unknown mode %s\n", argv[1]);
    return 2;
}
