extension RequestTemplate {
    /// The built-in template, following the captured CLI request (AMAZON_Q.md §2.11) and the
    /// envelope texts the CLI itself uses (§2.10). `q2api template` prints it as a starting
    /// point for `upstream.template`.
    package static let builtInSource = #"""
        {
          "headers": {
            "content-type": "application/x-amz-json-1.0",
            "x-amz-target": "AmazonCodeWhispererStreamingService.GenerateAssistantResponse",
            "user-agent": "aws-sdk-rust/1.3.9 ua/2.1 api/codewhispererstreaming/0.1.11582 os/linux lang/rust/1.87.0 md/appVersion-1.19.4 app/AmazonQ-For-CLI",
            "x-amz-user-agent": "aws-sdk-rust/1.3.9 ua/2.1 api/codewhispererstreaming/0.1.11582 os/linux lang/rust/1.87.0 m/F app/AmazonQ-For-CLI",
            "x-amzn-codewhisperer-optout": "true",
            "amz-sdk-request": "attempt=1; max=3"
          },
          "kiro_headers": {
            "user-agent": "aws-sdk-js/1.0.27 ua/2.1 os/linux#6.8.0 lang/js md/nodejs#22.21.1 api/codewhispererstreaming#1.0.27 m/E KiroIDE-0.7.45-{{machine_id}}",
            "x-amz-user-agent": "aws-sdk-js/1.0.27 KiroIDE-0.7.45-{{machine_id}}",
            "x-amzn-kiro-agent-mode": "vibe"
          },
          "origins": {"oidc": "KIRO_CLI", "kiro": "AI_EDITOR"},
          "request": {
            "conversationState": {
              "conversationId": "{{conversation_id}}",
              "history": "{{history}}",
              "currentMessage": {"userInputMessage": "{{current_message}}"},
              "chatTriggerType": "MANUAL"
            },
            "profileArn": "{{profile_arn}}"
          },
          "user_message": {
            "content": "{{content}}",
            "userInputMessageContext": {
              "envState": {"operatingSystem": "linux", "currentWorkingDirectory": "/"},
              "tools": "{{tools}}",
              "toolResults": "{{tool_results}}"
            },
            "origin": "{{origin}}",
            "modelId": "{{model_id}}",
            "images": "{{images}}"
          },
          "assistant_message": {
            "messageId": "{{message_id}}",
            "content": "{{content}}",
            "toolUses": "{{tool_uses}}"
          },
          "system_prompt": "--- SYSTEM PROMPT BEGIN ---\n{{system}}\n--- SYSTEM PROMPT END ---",
          "system_acknowledgement": "I will follow these instructions.",
          "system_message": "--- SYSTEM MESSAGE BEGIN ---\n{{text}}\n--- SYSTEM MESSAGE END ---",
          "user_content": "--- CONTEXT ENTRY BEGIN ---\nCurrent time: {{time}}\n--- CONTEXT ENTRY END ---\n\n--- USER MESSAGE BEGIN ---\n{{text}}\n--- USER MESSAGE END ---",
          "thinking_hint": "<thinking_mode>interleaved</thinking_mode><max_thinking_length>{{budget}}</max_thinking_length>"
        }
        """#
}
