import NIOCore
package import SanlianRPC
package import SanlianWire

/// Relays one call from the caller's connection to a service's connection and back, frame by
/// frame, without decoding the payloads (the request's payload field is passed on encoded, see
/// `FrameRelay.writeStart`), with the broker's stamps after the caller's metadata: the remaining
/// deadline travels with it, a caller's cancellation or disconnect cancels it downstream, the
/// caller's flow-control grants pass through, and a service that drops fails the call with
/// UNAVAILABLE. The service's Message and
/// CallEnd frames are relayed undecoded under the caller's call id (`FrameRelay`).
package enum CallForwarder {
    package static func forward(
        _ call: InboundCall,
        to instance: RouteTable.Instance,
        service: String,
        metadata: Metadata,
        stamps: EncodedMetadataEntries
    ) {
        let observer = ForwardingObserver(inbound: call, service: service, instance: instance.name)
        let target = instance.connection
        var request = CallRequest(
            method: call.method,
            metadata: metadata,
            deadline: call.deadline,
            payload: [],
            halfClose: true,
            window: call.initialWindow
        )
        request.encodedMetadata = stamps
        // The caller's payload goes on as is when it was read without being decoded.
        if let payloadField = call.payloadField {
            request.payloadField = payloadField
        } else {
            request.payload = call.payload
        }
        let id = target.startCall(request, observer: observer)
        call.relay(to: target, callID: id)
    }
}

final class ForwardingObserver: OutboundCallObserver {
    let inbound: InboundCall
    let service: String
    let instance: String

    init(inbound: InboundCall, service: String, instance: String) {
        self.inbound = inbound
        self.service = service
        self.instance = instance
    }

    var relaysFrames: Bool { true }

    func relay(_ frame: ByteBuffer, final: Bool) {
        if final {
            inbound.finish(relaying: frame)
        } else {
            inbound.forward(relaying: frame)
        }
    }

    func received(message: [UInt8]) {
        inbound.forward(message: message)
    }

    func ended(_ outcome: CallOutcome) {
        var outcome = outcome
        if outcome.status.code == .unavailable, !outcome.neverSent, outcome.status.message.contains("connection") {
            outcome.status.message = "the service \(service) (\(instance)) went away during the call"
        } else if outcome.neverSent {
            outcome.status.message =
                "the service \(service) (\(instance)) is not accepting calls: \(outcome.status.message)"
        }
        inbound.finish(outcome)
    }
}
