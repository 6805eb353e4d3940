/// Writes, for every `service` of the proto files, what a process serving or calling it uses on
/// top of the message layer: a protocol a service implements (one async method per RPC, so that a
/// missing method is a compile error), its registration on an `RPCRouter`, and a typed client.
/// The files go into their own module (`SanlianContracts`), which depends on the RPC runtime as
/// the message layer does not.
struct ServiceEmitter {
    let emitter: SwiftEmitter

    /// The file for `file`, or nil when it declares no service.
    func swiftFile(for file: ProtoFile) -> String? {
        guard !file.services.isEmpty else { return nil }
        var out = emitter.header(source: "proto/\(file.name)")
        out += "package import SanlianRPC\npackage import SanlianWire\n"
        let namespace = Naming.namespace(file.package)
        for service in file.services {
            out += "\n" + serviceProtocol(service, namespace: namespace)
            out += "\n" + registration(service, namespace: namespace)
            out += "\n" + client(service, namespace: namespace)
        }
        return out
    }

    func methodName(_ method: ProtoMethod) -> String {
        Naming.property(Naming.camelToLower(method.name))
    }

    func serviceProtocol(_ service: ProtoService, namespace: String) -> String {
        var out = "extension \(namespace) {\n"
        out += emitter.docComment(service.comment, indent: "    ")
        if !service.comment.isEmpty { out += "    ///\n" }
        out += "    /// Implemented by a process that serves `\(service.fullName)`: one method per RPC,\n"
        out += "    /// each with its caller's context. `register(on:)` serves them all.\n"
        out += "    package protocol \(service.name)Service: Sendable {\n"
        for (index, method) in service.methods.enumerated() {
            if index > 0 { out += "\n" }
            out += emitter.docComment(method.comment, indent: "        ")
            let input = emitter.swiftType(method.inputType)
            let output = emitter.swiftType(method.outputType)
            if method.serverStreaming {
                out += "        func \(methodName(method))(\n"
                out += "            _ request: \(input),\n"
                out += "            responses: ResponseStreamWriter<\(output)>,\n"
                out += "            context: ServerContext\n"
                out += "        ) async throws\n"
            } else {
                out +=
                    "        func \(methodName(method))(_ request: \(input), context: ServerContext) async throws -> \(output)\n"
            }
        }
        out += "    }\n}\n"
        return out
    }

    func registration(_ service: ProtoService, namespace: String) -> String {
        let methods = "\(namespace).\(service.name)"
        var out = "extension \(namespace).\(service.name)Service {\n"
        out += "    /// Serves every method of `\(service.fullName)` on `router` with this implementation:\n"
        out += "    /// async handlers, run off the event loop.\n"
        out += "    package func register(on router: inout RPCRouter) {\n"
        for method in service.methods {
            let name = methodName(method)
            if method.clientStreaming {
                out += "        // \(method.name) streams its requests, which the runtime does not serve.\n"
                continue
            }
            if method.serverStreaming {
                out += "        router.register(\(methods).\(name)) { request, responses, context in\n"
                out += "            try await self.\(name)(request, responses: responses, context: context)\n"
                out += "        }\n"
            } else {
                out += "        router.register(\(methods).\(name)) { request, context in\n"
                out += "            try await self.\(name)(request, context: context)\n"
                out += "        }\n"
            }
        }
        out += "    }\n}\n"
        return out
    }

    func client(_ service: ProtoService, namespace: String) -> String {
        let methods = "\(namespace).\(service.name)"
        var out = "extension \(namespace) {\n"
        out += "    /// Calls `\(service.fullName)` over `caller` (a client of the broker, which routes the\n"
        out += "    /// calls to an instance of the service), with `options` unless a call gives its own.\n"
        out += "    package struct \(service.name)Client: Sendable {\n"
        out += "        package let caller: any RPCCaller\n"
        out += "        package var options: CallOptions\n\n"
        out += "        package init(_ caller: any RPCCaller, options: CallOptions = CallOptions()) {\n"
        out += "            self.caller = caller\n"
        out += "            self.options = options\n"
        out += "        }\n"
        for method in service.methods where !method.clientStreaming {
            let name = methodName(method)
            let input = emitter.swiftType(method.inputType)
            let output = emitter.swiftType(method.outputType)
            out += "\n"
            out += emitter.docComment(method.comment, indent: "        ")
            if method.serverStreaming {
                out +=
                    "        package func \(name)(_ request: \(input), options: CallOptions? = nil) async throws(RPCError)\n"
                out += "            -> ResponseStream<\(output)>\n        {\n"
                out +=
                    "            try await caller.serverStream(\(methods).\(name), request, options: options ?? self.options)\n"
                out += "        }\n"
            } else {
                out +=
                    "        package func \(name)(_ request: \(input), options: CallOptions? = nil) async throws(RPCError)\n"
                out += "            -> \(output)\n        {\n"
                out +=
                    "            try await caller.unary(\(methods).\(name), request, options: options ?? self.options)\n"
                out += "        }\n"
            }
        }
        out += "    }\n}\n"
        return out
    }
}
