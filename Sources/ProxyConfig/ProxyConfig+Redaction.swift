import Foundation

// Proxy and endpoint URLs may carry `user:password@`. These conformances keep them out of `print`, string
// interpolation and `dump` of the sections that hold URLs (and so of a whole ProxyConfig); Secret covers the rest.

extension ProxyConfig.Upstream: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package var description: String {
        let proxy = self.proxy.map(AddressSyntax.redacted) ?? "nil"
        return
            "Upstream(endpoint: \(AddressSyntax.redacted(self.endpoint)), oidcEndpoint: \(AddressSyntax.redacted(self.oidcEndpoint)), proxy: \(proxy), connectTimeout: \(self.connectTimeout), readTimeout: \(self.readTimeout), templatePath: \(self.templatePath ?? "nil"))"
    }

    package var debugDescription: String { self.description }

    package var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "endpoint": AddressSyntax.redacted(self.endpoint),
                "oidcEndpoint": AddressSyntax.redacted(self.oidcEndpoint),
                "proxy": self.proxy.map(AddressSyntax.redacted) as Any,
                "connectTimeout": self.connectTimeout,
                "readTimeout": self.readTimeout,
                "templatePath": self.templatePath as Any,
            ],
            displayStyle: .struct
        )
    }
}

extension ProxyConfig.Account: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package var description: String {
        "Account(id: \(self.id), label: \(self.label), clientID: <redacted>, clientSecret: <redacted>, refreshToken: <redacted>, profileARN: \(self.profileARN ?? "nil"), enabled: \(self.enabled), weight: \(self.weight), tier: \(self.tier), region: \(self.region ?? "nil"), endpoint: \(self.endpoint.map(AddressSyntax.redacted) ?? "nil"), proxy: \(self.proxy.map(AddressSyntax.redacted) ?? "nil"))"
    }

    package var debugDescription: String { self.description }

    package var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "id": self.id,
                "label": self.label,
                "clientID": self.clientID,
                "clientSecret": self.clientSecret,
                "refreshToken": self.refreshToken,
                "profileARN": self.profileARN as Any,
                "enabled": self.enabled,
                "weight": self.weight,
                "tier": self.tier,
                "region": self.region as Any,
                "endpoint": self.endpoint.map(AddressSyntax.redacted) as Any,
                "proxy": self.proxy.map(AddressSyntax.redacted) as Any,
            ],
            displayStyle: .struct
        )
    }
}
