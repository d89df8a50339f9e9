extension ConfigDecoder {
    /// `upstream`. Read into the whole configuration, since `template` also fills ``ProxyConfig/templateSource``.
    static let upstreamKeys = KeyTable<ProxyConfig>([
        ConfigKey("endpoint") { decoder, field, config in
            if let url = decoder.url(field, what: "an http(s) URL such as https://q.us-east-1.amazonaws.com/") {
                config.upstream.endpoint = url
            }
        },
        ConfigKey("oidc_endpoint") { decoder, field, config in
            if let url = decoder.url(field, what: "an http(s) URL such as https://oidc.us-east-1.amazonaws.com") {
                config.upstream.oidcEndpoint = url
            }
        },
        ConfigKey("kiro_auth_endpoint") { decoder, field, config in
            config.upstream.kiroAuthEndpoint = decoder.optionalURL(
                field, what: "\"\" or an http(s) URL such as https://prod.us-east-1.auth.desktop.kiro.dev")
        },
        ConfigKey("proxy") { decoder, field, config in
            config.upstream.proxy = decoder.optionalURL(
                field, what: "\"\" or a proxy URL such as http://proxy.local:3128")
        },
        .duration("connect_timeout", \.upstream.connectTimeout, minimum: .milliseconds(1)),
        .duration("read_timeout", \.upstream.readTimeout, minimum: .milliseconds(1)),
        ConfigKey("template") { decoder, field, config in
            guard let path = decoder.reader.string(field), !path.isEmpty else { return }
            let resolved = PathSyntax.resolve(path, against: decoder.baseDirectory)
            config.upstream.templatePath = resolved
            if let text = decoder.fileText(resolved, field) {
                config.templateSource = TemplateSource(
                    path: resolved,
                    text: text,
                    configFile: decoder.sourcePath,
                    line: field.position.line,
                    column: field.position.column
                )
            }
        },
    ])
}
