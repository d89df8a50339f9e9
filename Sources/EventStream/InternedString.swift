#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A header name or string value Amazon Q sends (AMAZON_Q.md §4.3, §5.2, §5.4), recognised by its bytes and handed out
/// as a string literal: no allocation and no UTF-8 validation.
///
/// Decoding builds no `String` for these. `assistantResponseEvent` and `application/json` are longer than the 15 bytes
/// a small string holds inline, so each would be a malloc per frame. The raw values start at 1 so that 0 can stand
/// for "no header" in ``InternedHeaders``.
///
/// ```swift
/// bytes.withUnsafeBytes { InternedString($0) }?.string  // "assistantResponseEvent"
/// ```
enum InternedString: UInt8, CaseIterable {
    // MARK: Header names
    case eventTypeName = 1
    case contentTypeName
    case messageTypeName
    case exceptionTypeName
    case errorCodeName
    case errorMessageName

    // MARK: `:message-type` and `:content-type` values
    case event
    case exception
    case error
    case applicationJSON

    // MARK: `:event-type` values (the service model's union, plus names other backends send)
    case initialResponse
    case assistantResponseEvent
    case toolUseEvent
    case messageMetadataEvent
    case reasoningContentEvent
    case codeReferenceEvent
    case supplementaryWebLinksEvent
    case followupPromptEvent
    case codeEvent
    case intentsEvent
    case interactionComponentsEvent
    case toolResultEvent
    case metadataEvent
    case meteringEvent
    case citationEvent
    case invalidStateEvent
    case dryRunSucceedEvent
    case contextUsageEvent
    case messageStopEvent
    case metricsEvent

    // MARK: `:exception-type` values
    case throttlingException
    case internalServerException
    case validationException
    case accessDeniedException
    case serviceUnavailableException

    /// The bytes to compare with and the string to hand out: the same text twice, so that neither is built at run time.
    private var literal: (bytes: StaticString, string: String) {
        switch self {
        case .eventTypeName: (":event-type", ":event-type")
        case .contentTypeName: (":content-type", ":content-type")
        case .messageTypeName: (":message-type", ":message-type")
        case .exceptionTypeName: (":exception-type", ":exception-type")
        case .errorCodeName: (":error-code", ":error-code")
        case .errorMessageName: (":error-message", ":error-message")
        case .event: ("event", "event")
        case .exception: ("exception", "exception")
        case .error: ("error", "error")
        case .applicationJSON: ("application/json", "application/json")
        case .initialResponse: ("initial-response", "initial-response")
        case .assistantResponseEvent: ("assistantResponseEvent", "assistantResponseEvent")
        case .toolUseEvent: ("toolUseEvent", "toolUseEvent")
        case .messageMetadataEvent: ("messageMetadataEvent", "messageMetadataEvent")
        case .reasoningContentEvent: ("reasoningContentEvent", "reasoningContentEvent")
        case .codeReferenceEvent: ("codeReferenceEvent", "codeReferenceEvent")
        case .supplementaryWebLinksEvent: ("supplementaryWebLinksEvent", "supplementaryWebLinksEvent")
        case .followupPromptEvent: ("followupPromptEvent", "followupPromptEvent")
        case .codeEvent: ("codeEvent", "codeEvent")
        case .intentsEvent: ("intentsEvent", "intentsEvent")
        case .interactionComponentsEvent: ("interactionComponentsEvent", "interactionComponentsEvent")
        case .toolResultEvent: ("toolResultEvent", "toolResultEvent")
        case .metadataEvent: ("metadataEvent", "metadataEvent")
        case .meteringEvent: ("meteringEvent", "meteringEvent")
        case .citationEvent: ("citationEvent", "citationEvent")
        case .invalidStateEvent: ("invalidStateEvent", "invalidStateEvent")
        case .dryRunSucceedEvent: ("dryRunSucceedEvent", "dryRunSucceedEvent")
        case .contextUsageEvent: ("contextUsageEvent", "contextUsageEvent")
        case .messageStopEvent: ("messageStopEvent", "messageStopEvent")
        case .metricsEvent: ("metricsEvent", "metricsEvent")
        case .throttlingException: ("ThrottlingException", "ThrottlingException")
        case .internalServerException: ("InternalServerException", "InternalServerException")
        case .validationException: ("ValidationException", "ValidationException")
        case .accessDeniedException: ("AccessDeniedException", "AccessDeniedException")
        case .serviceUnavailableException: ("ServiceUnavailableException", "ServiceUnavailableException")
        }
    }

    /// The text as a string literal.
    var string: String { self.literal.string }

    /// The text's UTF-8 bytes, for comparing.
    var bytes: StaticString { self.literal.bytes }

    /// The interned string whose bytes are exactly `bytes`, if there is one.
    ///
    /// Dispatches on the length first, so a lookup compares against at most five candidates (usually one); most lengths have
    /// none, and a miss costs one branch. (`InternedStringTests` checks that every case is found by its own bytes.)
    init?(_ bytes: UnsafeRawBufferPointer) {
        let found: Self? =
            switch bytes.count {
            case 5: Self.match(bytes, .event) ?? Self.match(bytes, .error)
            case 9: Self.match(bytes, .exception) ?? Self.match(bytes, .codeEvent)
            case 11: Self.match(bytes, .eventTypeName) ?? Self.match(bytes, .errorCodeName)
            case 12: Self.match(bytes, .toolUseEvent) ?? Self.match(bytes, .intentsEvent) ?? Self.match(bytes, .metricsEvent)
            case 13:
                Self.match(bytes, .contentTypeName) ?? Self.match(bytes, .messageTypeName) ?? Self.match(bytes, .metadataEvent)
                    ?? Self.match(bytes, .meteringEvent) ?? Self.match(bytes, .citationEvent)
            case 14: Self.match(bytes, .errorMessageName)
            case 15: Self.match(bytes, .exceptionTypeName) ?? Self.match(bytes, .toolResultEvent)
            case 16: Self.match(bytes, .applicationJSON) ?? Self.match(bytes, .initialResponse) ?? Self.match(bytes, .messageStopEvent)
            case 17: Self.match(bytes, .invalidStateEvent) ?? Self.match(bytes, .contextUsageEvent)
            case 18: Self.match(bytes, .codeReferenceEvent) ?? Self.match(bytes, .dryRunSucceedEvent)
            case 19: Self.match(bytes, .followupPromptEvent) ?? Self.match(bytes, .throttlingException) ?? Self.match(bytes, .validationException)
            case 20: Self.match(bytes, .messageMetadataEvent)
            case 21: Self.match(bytes, .reasoningContentEvent) ?? Self.match(bytes, .accessDeniedException)
            case 22: Self.match(bytes, .assistantResponseEvent)
            case 23: Self.match(bytes, .internalServerException)
            case 26: Self.match(bytes, .supplementaryWebLinksEvent) ?? Self.match(bytes, .interactionComponentsEvent)
            case 27: Self.match(bytes, .serviceUnavailableException)
            default: nil
            }
        guard let found else { return nil }
        self = found
    }

    /// `candidate` if `bytes`, already known to have its length, are its bytes.
    @inline(__always)
    private static func match(_ bytes: UnsafeRawBufferPointer, _ candidate: Self) -> Self? {
        let text = candidate.bytes
        return memcmp(text.utf8Start, bytes.baseAddress!, bytes.count) == 0 ? candidate : nil
    }
}
