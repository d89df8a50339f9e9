"""The whole request surface of the installed anthropic SDK, generated from its types (issue 13, section 2).

`sdk_surface.py` walks `anthropic.types.MessageCreateParams` (non-streaming and streaming),
`anthropic.types.beta.MessageCreateParams` and both `MessageCountTokensParams` by typing introspection and
yields one variant per union member, literal value and optional key (present, and null where the type
allows it). Each variant is built into a minimal valid request, placed as a real client would, sent through
the SDK (`messages.create`, `beta.messages.create`, `count_tokens`) and must be either

- served: 200 with a well-formed message (and a well-formed event stream, where streaming adds something;
  a reply that satisfies the schema where one is asked for), or a token count; or
- a named 400: `invalid_request_error` whose message names the variant (its `type` value or field name).

Never a 5xx, never another status. RULES says which, per variant name (see sdk_surface.py for the naming).
A variant the walker finds and RULES has no rule for fails with "new in the SDK: <name>", so an SDK upgrade says
what is new; a rule for a name the walker no longer finds fails `test_rules_are_current`. The walk only
descends into served objects, so a new served rule can bring the keys of that object up as new variants.

test_create sends every variant without streaming (`stream=True` streams), test_stream repeats the variants
whose reply depends on them with streaming, test_count_tokens sends the count_tokens walk, test_extra_field the
fields clients send that the SDK no longer declares. It is about 1,200 requests to q2api + simulator, a few
seconds. Rules marked `# lead: check` are choices for variants that issue 13 does not name (reviewed; the README
says what each does).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from typing import Any, Callable, get_args

import anthropic
import pydantic
import pytest

import sdk_surface
from conftest import Env, make_client

# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Rule:
    served: bool
    names: tuple[str, ...] = ()  # a 400 must name one of these (case-insensitive)

    def __str__(self) -> str:
        return "served" if self.served else f"400 naming {' or '.join(map(repr, self.names))}"


SERVED = Rule(True)


def bad(*names: str) -> Rule:
    """A 400 invalid_request_error whose message names one of `names`."""
    return Rule(False, names)


# fmt: off
RULES: dict[str, Rule] = {
    # --- Top-level fields. Serving-only fields (cache_control, container, diagnostics, inference_geo,
    # service_tier, speed, user_profile_id, workspace_id, the beta billing and fallback ones) are accepted and
    # ignored; server-side state and work q2api cannot do (mcp_servers, thread, compaction) are named 400s.
    "request.cache_control": SERVED,
    "request.cache_control=None": SERVED,
    "request.container=ContainerParams": SERVED,
    "request.container=str": SERVED,
    "request.container=None": SERVED,
    "request.diagnostics": SERVED,
    "request.diagnostics=None": SERVED,
    "request.inference_geo": SERVED,
    "request.inference_geo=None": SERVED,
    "request.metadata": SERVED,
    "request.output_config": SERVED,
    "request.service_tier=auto": SERVED,
    "request.service_tier=standard_only": SERVED,
    "request.speed=standard": SERVED,
    "request.speed=fast": SERVED,
    "request.speed=None": SERVED,
    "request.stop_sequences": SERVED,
    "request.system=str": SERVED,
    "request.system=TextBlockParam": SERVED,
    "request.thinking=ThinkingConfigEnabledParam": SERVED,
    "request.thinking=ThinkingConfigDisabledParam": SERVED,
    "request.thinking=ThinkingConfigBetweenToolsParam": SERVED,
    "request.thinking=ThinkingConfigAdaptiveParam": SERVED,
    "request.tool_choice=ToolChoiceAutoParam": SERVED,
    "request.tool_choice=ToolChoiceAnyParam": SERVED,
    "request.tool_choice=ToolChoiceToolParam": SERVED,
    "request.tool_choice=ToolChoiceNoneParam": SERVED,
    "request.user_profile_id": SERVED,
    "request.workspace_id": SERVED,
    "request.stream=False": SERVED,
    "request.stream=True": SERVED,
    "request.billing_policy": SERVED,  # lead: check
    "request.billing_policy=None": SERVED,
    "request.compaction": bad("compaction"),  # lead: check
    "request.compaction=None": SERVED,
    "request.context_management": SERVED,
    "request.context_management=None": SERVED,
    "request.fallback_credit_token=str": SERVED,  # lead: check
    "request.fallback_credit_token=FallbackCreditTokenParam": SERVED,  # lead: check
    "request.fallback_credit_token=None": SERVED,
    "request.fallbacks=FallbackParam": SERVED,  # lead: check
    "request.fallbacks=default": SERVED,  # lead: check
    "request.fallbacks=None": SERVED,
    "request.mcp_servers": bad("mcp_servers"),
    "request.thread=ThreadCreateParams": bad("thread"),  # lead: check
    "request.thread=ThreadContinueParams": bad("thread"),  # lead: check
    "request.thread=None": SERVED,

    # --- ModelParam: every model id the SDK lists is served (mapped to an upstream model); `str` is another id.
    "request.model=claude-fable-5-2": SERVED,
    "request.model=claude-mythos-5-2": SERVED,
    "request.model=claude-haiku-5-5": SERVED,
    "request.model=claude-sonnet-5-5": SERVED,
    "request.model=claude-fable-5-1": SERVED,
    "request.model=claude-opus-5-5": SERVED,
    "request.model=claude-mythos-5-1": SERVED,
    "request.model=claude-sonnet-5": SERVED,
    "request.model=claude-fable-5": SERVED,
    "request.model=claude-mythos-5": SERVED,
    "request.model=claude-opus-5": SERVED,
    "request.model=claude-opus-4-8": SERVED,
    "request.model=claude-opus-4-7": SERVED,
    "request.model=claude-mythos-preview": SERVED,
    "request.model=claude-opus-4-6": SERVED,
    "request.model=claude-sonnet-4-6": SERVED,
    "request.model=claude-haiku-4-5": SERVED,
    "request.model=claude-haiku-4-5-20251001": SERVED,
    "request.model=claude-opus-4-5": SERVED,
    "request.model=claude-opus-4-5-20251101": SERVED,
    "request.model=str": SERVED,

    # --- Messages: user, assistant and system roles, string or blocks; system-role messages anywhere in `messages`.
    "request.messages=UserMessageParam": SERVED,
    "request.messages=AssistantMessageParam": SERVED,
    "request.messages=SystemMessageParam": SERVED,
    "UserMessageParam.content=str": SERVED,
    "AssistantMessageParam.content=str": SERVED,
    "SystemMessageParam.content=str": SERVED,
    "SystemMessageParam.content=TextBlockParam": SERVED,
    "SystemMessageParam.clear_at=next_user_message": SERVED,  # lead: check
    "SystemMessageParam.clear_at=never": SERVED,  # lead: check
    "SystemMessageParam.clear_at=None": SERVED,
    "SystemMessageParam.content=RequestToolAdditionBlockParam": SERVED,  # lead: check
    "SystemMessageParam.content=RequestToolRemovalBlockParam": SERVED,  # lead: check
    "SystemMessageParam.output_config": SERVED,  # lead: check
    "SystemMessageParam.output_config=None": SERVED,

    # --- Content blocks (ContentBlockParam: user and assistant content). Assistant-only blocks are placed in an
    # assistant turn, server tool uses with their results, MCP uses with theirs: all served as history. The
    # `*Block` names without `Param` are the SDK's response blocks sent back as they came (`message.content`);
    # their rule is that of their `*Param` twin.
    "ContentBlockParam=TextBlockParam": SERVED,
    "ContentBlockParam=ImageBlockParam": SERVED,
    "ContentBlockParam=DocumentBlockParam": SERVED,
    "ContentBlockParam=SearchResultBlockParam": SERVED,
    "ContentBlockParam=ThinkingBlockParam": SERVED,
    "ContentBlockParam=RedactedThinkingBlockParam": SERVED,
    "ContentBlockParam=ToolUseBlockParam": SERVED,
    "ContentBlockParam=ToolResultBlockParam": SERVED,
    "ContentBlockParam=ServerToolUseBlockParam": SERVED,
    "ContentBlockParam=WebSearchToolResultBlockParam": SERVED,
    "ContentBlockParam=WebFetchToolResultBlockParam": SERVED,
    "ContentBlockParam=CodeExecutionToolResultBlockParam": SERVED,
    "ContentBlockParam=BashCodeExecutionToolResultBlockParam": SERVED,
    "ContentBlockParam=TextEditorCodeExecutionToolResultBlockParam": SERVED,
    "ContentBlockParam=ToolSearchToolResultBlockParam": SERVED,
    "ContentBlockParam=ContainerUploadBlockParam": bad("container_upload"),
    "ContentBlockParam=TextBlock": SERVED,  # lead: check
    "ContentBlockParam=ThinkingBlock": SERVED,  # lead: check
    "ContentBlockParam=RedactedThinkingBlock": SERVED,  # lead: check
    "ContentBlockParam=ToolUseBlock": SERVED,  # lead: check
    "ContentBlockParam=ServerToolUseBlock": SERVED,  # lead: check
    "ContentBlockParam=WebSearchToolResultBlock": SERVED,  # lead: check
    "ContentBlockParam=WebFetchToolResultBlock": SERVED,  # lead: check
    "ContentBlockParam=CodeExecutionToolResultBlock": SERVED,  # lead: check
    "ContentBlockParam=BashCodeExecutionToolResultBlock": SERVED,  # lead: check
    "ContentBlockParam=TextEditorCodeExecutionToolResultBlock": SERVED,  # lead: check
    "ContentBlockParam=ToolSearchToolResultBlock": SERVED,  # lead: check
    "ContentBlockParam=ContainerUploadBlock": bad("container_upload"),  # lead: check
    "ContentBlockParam=AdvisorToolResultBlockParam": SERVED,  # lead: check
    "ContentBlockParam=MCPToolUseBlockParam": SERVED,  # lead: check
    "ContentBlockParam=RequestMCPToolResultBlockParam": SERVED,  # lead: check
    "ContentBlockParam=CompactionBlockParam": SERVED,  # lead: check
    "ContentBlockParam=RequestToolAdditionBlockParam": SERVED,  # lead: check
    "ContentBlockParam=RequestToolRemovalBlockParam": SERVED,  # lead: check
    "ContentBlockParam=MCPToolListingBlockParam": SERVED,  # lead: check
    "ContentBlockParam=FallbackBlockParam": SERVED,  # lead: check
    "ContentBlockParam=AdvisorToolResultBlock": SERVED,  # lead: check
    "ContentBlockParam=MCPToolUseBlock": SERVED,  # lead: check
    "ContentBlockParam=MCPToolResultBlock": SERVED,  # lead: check
    "ContentBlockParam=CompactionBlock": SERVED,  # lead: check
    "ContentBlockParam=FallbackBlock": SERVED,  # lead: check
    "ContentBlockParam=MCPToolListingBlock": SERVED,  # lead: check

    # --- Tools: custom and versioned client tools are served; server tools and toolsets get a 400 naming their
    # `type`.
    "request.tools=ToolParam": SERVED,
    "request.tools=ToolBash20250124Param": SERVED,
    "request.tools=CodeExecutionTool20250522Param": bad("code_execution_20250522"),
    "request.tools=CodeExecutionTool20250825Param": bad("code_execution_20250825"),
    "request.tools=CodeExecutionTool20260120Param": bad("code_execution_20260120"),
    "request.tools=CodeExecutionTool20260521Param": bad("code_execution_20260521"),
    "request.tools=BrowserToolset20260801Param": bad("browser_toolset_20260801"),
    "request.tools=MemoryTool20250818Param": SERVED,
    "request.tools=ComputerToolset20260801Param": bad("computer_toolset_20260801"),
    "request.tools=ToolTextEditor20250124Param": SERVED,
    "request.tools=ToolTextEditor20250429Param": SERVED,
    "request.tools=ToolTextEditor20250728Param": SERVED,
    "request.tools=WebSearchTool20250305Param": bad("web_search_20250305"),
    "request.tools=WebFetchTool20250910Param": bad("web_fetch_20250910"),
    "request.tools=WebSearchTool20260209Param": bad("web_search_20260209"),
    "request.tools=WebFetchTool20260209Param": bad("web_fetch_20260209"),
    "request.tools=WebFetchTool20260309Param": bad("web_fetch_20260309"),
    "request.tools=WebSearchTool20260318Param": bad("web_search_20260318"),
    "request.tools=WebFetchTool20260318Param": bad("web_fetch_20260318"),
    "request.tools=ToolSearchToolBm25_20251119Param": SERVED,
    "request.tools=ToolSearchToolRegex20251119Param": SERVED,
    "request.tools=ToolBash20241022Param": SERVED,  # lead: check
    "request.tools=ToolComputerUse20241022Param": bad("computer_20241022"),  # lead: check
    "request.tools=ToolComputerUse20250124Param": bad("computer_20250124"),  # lead: check
    "request.tools=ToolTextEditor20241022Param": SERVED,  # lead: check
    "request.tools=ToolComputerUse20251124Param": bad("computer_20251124"),  # lead: check
    "request.tools=AdvisorTool20260301Param": bad("advisor_20260301"),  # lead: check
    "request.tools=MCPToolsetParam": bad("mcp_toolset"),  # lead: check

    # --- Beta headers (`betas=`): any beta is accepted, known or not.
    "request.betas=str": SERVED,
    "request.betas=computer-use-2024-10-22": SERVED,
    "request.betas=computer-use-2025-01-24": SERVED,
    "request.betas=output-128k-2025-02-19": SERVED,
    "request.betas=mcp-client-2025-04-04": SERVED,
    "request.betas=mcp-client-2025-11-20": SERVED,
    "request.betas=dev-full-thinking-2025-05-14": SERVED,
    "request.betas=interleaved-thinking-2025-05-14": SERVED,
    "request.betas=code-execution-2025-05-22": SERVED,
    "request.betas=context-1m-2025-08-07": SERVED,
    "request.betas=context-management-2025-06-27": SERVED,
    "request.betas=model-context-window-exceeded-2025-08-26": SERVED,
    "request.betas=fast-mode-2026-02-01": SERVED,
    "request.betas=output-300k-2026-03-24": SERVED,
    "request.betas=user-profiles-2026-03-24": SERVED,
    "request.betas=user-profiles-2026-08-18": SERVED,
    "request.betas=user-profiles-2026-09-04": SERVED,
    "request.betas=advisor-tool-2026-03-01": SERVED,
    "request.betas=managed-agents-2026-04-01": SERVED,
    "request.betas=dreaming-2026-04-21": SERVED,
    "request.betas=thinking-token-count-2026-05-13": SERVED,
    "request.betas=server-side-fallback-2026-06-01": SERVED,
    "request.betas=server-side-fallback-2026-07-01": SERVED,
    "request.betas=fallback-credit-2026-06-01": SERVED,
    "request.betas=fallback-credit-2026-07-01": SERVED,
    "request.betas=agent-memory-2026-07-22": SERVED,
    "request.betas=mid-conversation-tool-changes-2026-07-01": SERVED,
    "request.betas=compact-2026-01-12": SERVED,
    "request.betas=computer-use-2025-11-24": SERVED,
    "request.betas=mcp-tunnels-2026-06-22": SERVED,
    "request.betas=structured-outputs-2025-11-13": SERVED,
    "request.betas=task-budgets-2026-03-13": SERVED,
    "request.betas=thinking-display-updates-2026-08-18": SERVED,
    "request.betas=mid-conversation-output-config-2026-07-01": SERVED,
    "request.betas=thinking-binding-controls-2026-08-01": SERVED,
    "request.betas=mid-conversation-system-clear-at-2026-08-21": SERVED,
    "request.betas=compact-2026-09-04": SERVED,
    "request.betas=inline-tools-2026-09-15": SERVED,
    "request.betas=mcp-client-2026-09-15": SERVED,
    "request.betas=ce-plugins-2026-09-01": SERVED,
    "request.betas=spend-limit-reads-2026-09-26": SERVED,
    "request.betas=telemetry-destinations-2026-08-11": SERVED,
    "request.betas=webhooks-2026-10-07": SERVED,
    "request.betas=admin-user-sign-out-2026-10-08": SERVED,
    "request.betas=message-threads-2026-08-12": SERVED,
    "request.betas=analytics-usage-cost-2026-08-24": SERVED,
    "request.betas=experimental-claude-tag-2026-10-21": SERVED,
    "request.betas=message-batches-2024-09-24": SERVED,
    "request.betas=prompt-caching-2024-07-31": SERVED,
    "request.betas=pdfs-2024-09-25": SERVED,
    "request.betas=token-counting-2024-11-01": SERVED,
    "request.betas=token-efficient-tools-2025-02-19": SERVED,
    "request.betas=files-api-2025-04-14": SERVED,
    "request.betas=extended-cache-ttl-2025-04-11": SERVED,
    "request.betas=skills-2025-10-02": SERVED,
    "request.betas=cache-diagnosis-2026-04-07": SERVED,
    "request.betas=ce-user-management-2026-07-13": SERVED,
    "request.betas=ce-claude-code-managed-settings-2026-10-06": SERVED,
    "request.betas=efs-2026-10-01": SERVED,
    "request.betas=google-managed-data-controls-2026-09-01": SERVED,
    "request.betas=user-profiles-billing-2026-10-01": SERVED,

    # --- Inside served objects: their keys (present and null), union members and literal values.
    "ToolParam.input_schema=InputSchemaTyped": SERVED,
    "ToolParam.input_schema=dict": SERVED,
    "ToolParam.allowed_callers=direct": SERVED,
    "ToolParam.allowed_callers=code_execution_20250825": SERVED,
    "ToolParam.allowed_callers=code_execution_20260120": SERVED,
    "ToolParam.allowed_callers=code_execution_20260521": SERVED,
    "ToolParam.cache_control": SERVED,
    "ToolParam.cache_control=None": SERVED,
    "ToolParam.defer_loading": SERVED,
    "ToolParam.description": SERVED,
    "ToolParam.eager_input_streaming": SERVED,
    "ToolParam.eager_input_streaming=None": SERVED,
    "ToolParam.input_examples": SERVED,
    "ToolParam.strict": SERVED,
    "ToolParam.type": SERVED,
    "ToolParam.type=None": SERVED,

    "ToolBash20250124Param.cache_control": SERVED,
    "ToolBash20250124Param.cache_control=None": SERVED,
    "ToolBash20250124Param.defer_loading": SERVED,
    "ToolBash20250124Param.input_examples": SERVED,
    "ToolBash20250124Param.strict": SERVED,

    "MemoryTool20250818Param.cache_control": SERVED,
    "MemoryTool20250818Param.cache_control=None": SERVED,
    "MemoryTool20250818Param.defer_loading": SERVED,
    "MemoryTool20250818Param.input_examples": SERVED,
    "MemoryTool20250818Param.strict": SERVED,

    "ToolTextEditor20250124Param.cache_control": SERVED,
    "ToolTextEditor20250124Param.cache_control=None": SERVED,
    "ToolTextEditor20250124Param.defer_loading": SERVED,
    "ToolTextEditor20250124Param.input_examples": SERVED,
    "ToolTextEditor20250124Param.strict": SERVED,

    "ToolTextEditor20250429Param.cache_control": SERVED,
    "ToolTextEditor20250429Param.cache_control=None": SERVED,
    "ToolTextEditor20250429Param.defer_loading": SERVED,
    "ToolTextEditor20250429Param.input_examples": SERVED,
    "ToolTextEditor20250429Param.strict": SERVED,

    "ToolTextEditor20250728Param.cache_control": SERVED,
    "ToolTextEditor20250728Param.cache_control=None": SERVED,
    "ToolTextEditor20250728Param.defer_loading": SERVED,
    "ToolTextEditor20250728Param.input_examples": SERVED,
    "ToolTextEditor20250728Param.max_characters": SERVED,
    "ToolTextEditor20250728Param.max_characters=None": SERVED,
    "ToolTextEditor20250728Param.strict": SERVED,

    "ToolSearchToolBm25_20251119Param.type=tool_search_tool_bm25_20251119": SERVED,
    "ToolSearchToolBm25_20251119Param.type=tool_search_tool_bm25": SERVED,
    "ToolSearchToolBm25_20251119Param.cache_control": SERVED,
    "ToolSearchToolBm25_20251119Param.cache_control=None": SERVED,
    "ToolSearchToolBm25_20251119Param.defer_loading": SERVED,
    "ToolSearchToolBm25_20251119Param.strict": SERVED,

    "ToolSearchToolRegex20251119Param.type=tool_search_tool_regex_20251119": SERVED,
    "ToolSearchToolRegex20251119Param.type=tool_search_tool_regex": SERVED,
    "ToolSearchToolRegex20251119Param.cache_control": SERVED,
    "ToolSearchToolRegex20251119Param.cache_control=None": SERVED,
    "ToolSearchToolRegex20251119Param.defer_loading": SERVED,
    "ToolSearchToolRegex20251119Param.strict": SERVED,

    "InputSchemaTyped.properties": SERVED,
    "InputSchemaTyped.properties=None": SERVED,
    "InputSchemaTyped.required": SERVED,
    "InputSchemaTyped.required=None": SERVED,

    "CacheControlEphemeralParam.ttl=5m": SERVED,
    "CacheControlEphemeralParam.ttl=1h": SERVED,

    "TextBlockParam.cache_control": SERVED,
    "TextBlockParam.cache_control=None": SERVED,
    "TextBlockParam.citations=CitationCharLocationParam": SERVED,  # lead: check
    "TextBlockParam.citations=CitationPageLocationParam": SERVED,  # lead: check
    "TextBlockParam.citations=CitationContentBlockLocationParam": SERVED,  # lead: check
    "TextBlockParam.citations=CitationWebSearchResultLocationParam": SERVED,  # lead: check
    "TextBlockParam.citations=CitationSearchResultLocationParam": SERVED,  # lead: check
    "TextBlockParam.citations=None": SERVED,

    "ImageBlockParam.source=Base64ImageSourceParam": SERVED,
    "ImageBlockParam.source=URLImageSourceParam": bad("URL"),
    "ImageBlockParam.source=FileImageSourceParam": bad("file"),
    "ImageBlockParam.cache_control": SERVED,
    "ImageBlockParam.cache_control=None": SERVED,
    "ImageBlockParam.transformations": SERVED,  # lead: check
    "ImageBlockParam.transformations=None": SERVED,

    "DocumentBlockParam.source=Base64PDFSourceParam": bad("PDF"),
    "DocumentBlockParam.source=PlainTextSourceParam": SERVED,
    "DocumentBlockParam.source=ContentBlockSourceParam": SERVED,
    "DocumentBlockParam.source=URLPDFSourceParam": bad("URL"),
    "DocumentBlockParam.source=FileDocumentSourceParam": bad("file"),
    "DocumentBlockParam.cache_control": SERVED,
    "DocumentBlockParam.cache_control=None": SERVED,
    "DocumentBlockParam.citations": SERVED,  # lead: check
    "DocumentBlockParam.citations=None": SERVED,
    "DocumentBlockParam.context": SERVED,
    "DocumentBlockParam.context=None": SERVED,
    "DocumentBlockParam.title": SERVED,
    "DocumentBlockParam.title=None": SERVED,

    "SearchResultBlockParam.cache_control": SERVED,
    "SearchResultBlockParam.cache_control=None": SERVED,
    "SearchResultBlockParam.citations": SERVED,

    "ToolUseBlockParam.cache_control": SERVED,
    "ToolUseBlockParam.cache_control=None": SERVED,
    "ToolUseBlockParam.caller=DirectCallerParam": SERVED,
    "ToolUseBlockParam.caller=ServerToolCallerParam": SERVED,  # lead: check
    "ToolUseBlockParam.caller=ServerToolCaller20260120Param": SERVED,  # lead: check
    "ToolUseBlockParam.toolset_name": SERVED,
    "ToolUseBlockParam.toolset_name=None": SERVED,

    "ToolResultBlockParam.cache_control": SERVED,
    "ToolResultBlockParam.cache_control=None": SERVED,
    "ToolResultBlockParam.content=str": SERVED,
    "ToolResultBlockParam.content=TextBlockParam": SERVED,
    "ToolResultBlockParam.content=ImageBlockParam": SERVED,
    "ToolResultBlockParam.content=SearchResultBlockParam": SERVED,
    "ToolResultBlockParam.content=DocumentBlockParam": SERVED,
    "ToolResultBlockParam.content=ToolReferenceBlockParam": SERVED,
    "ToolResultBlockParam.content=BrowserStateBlockParam": SERVED,  # lead: check
    "ToolResultBlockParam.is_error": SERVED,
    "ToolResultBlockParam.toolset_name": SERVED,
    "ToolResultBlockParam.toolset_name=None": SERVED,

    "ServerToolUseBlockParam.name=web_search": SERVED,
    "ServerToolUseBlockParam.name=web_fetch": SERVED,
    "ServerToolUseBlockParam.name=code_execution": SERVED,
    "ServerToolUseBlockParam.name=bash_code_execution": SERVED,
    "ServerToolUseBlockParam.name=text_editor_code_execution": SERVED,
    "ServerToolUseBlockParam.name=tool_search_tool_regex": SERVED,
    "ServerToolUseBlockParam.name=tool_search_tool_bm25": SERVED,
    "ServerToolUseBlockParam.cache_control": SERVED,
    "ServerToolUseBlockParam.cache_control=None": SERVED,
    "ServerToolUseBlockParam.caller=DirectCallerParam": SERVED,
    "ServerToolUseBlockParam.caller=ServerToolCallerParam": SERVED,
    "ServerToolUseBlockParam.caller=ServerToolCaller20260120Param": SERVED,

    "WebSearchToolResultBlockParam.content=WebSearchResultBlockParam": SERVED,
    "WebSearchToolResultBlockParam.content=WebSearchToolRequestErrorObjectParam": SERVED,
    "WebSearchToolResultBlockParam.cache_control": SERVED,
    "WebSearchToolResultBlockParam.cache_control=None": SERVED,
    "WebSearchToolResultBlockParam.caller=DirectCallerParam": SERVED,
    "WebSearchToolResultBlockParam.caller=ServerToolCallerParam": SERVED,
    "WebSearchToolResultBlockParam.caller=ServerToolCaller20260120Param": SERVED,

    "WebFetchToolResultBlockParam.content=WebFetchToolResultErrorBlockParam": SERVED,
    "WebFetchToolResultBlockParam.content=WebFetchBlockParam": SERVED,
    "WebFetchToolResultBlockParam.cache_control": SERVED,
    "WebFetchToolResultBlockParam.cache_control=None": SERVED,
    "WebFetchToolResultBlockParam.caller=DirectCallerParam": SERVED,
    "WebFetchToolResultBlockParam.caller=ServerToolCallerParam": SERVED,
    "WebFetchToolResultBlockParam.caller=ServerToolCaller20260120Param": SERVED,

    "CodeExecutionToolResultBlockParam.content=CodeExecutionToolResultErrorParam": SERVED,
    "CodeExecutionToolResultBlockParam.content=CodeExecutionResultBlockParam": SERVED,
    "CodeExecutionToolResultBlockParam.content=EncryptedCodeExecutionResultBlockParam": SERVED,
    "CodeExecutionToolResultBlockParam.cache_control": SERVED,
    "CodeExecutionToolResultBlockParam.cache_control=None": SERVED,

    "BashCodeExecutionToolResultBlockParam.content=BashCodeExecutionToolResultErrorParam": SERVED,
    "BashCodeExecutionToolResultBlockParam.content=BashCodeExecutionResultBlockParam": SERVED,
    "BashCodeExecutionToolResultBlockParam.cache_control": SERVED,
    "BashCodeExecutionToolResultBlockParam.cache_control=None": SERVED,

    "TextEditorCodeExecutionToolResultBlockParam.content=TextEditorCodeExecutionToolResultErrorParam": SERVED,
    "TextEditorCodeExecutionToolResultBlockParam.content=TextEditorCodeExecutionViewResultBlockParam": SERVED,
    "TextEditorCodeExecutionToolResultBlockParam.content=TextEditorCodeExecutionCreateResultBlockParam": SERVED,
    "TextEditorCodeExecutionToolResultBlockParam.content=TextEditorCodeExecutionStrReplaceResultBlockParam": SERVED,
    "TextEditorCodeExecutionToolResultBlockParam.cache_control": SERVED,
    "TextEditorCodeExecutionToolResultBlockParam.cache_control=None": SERVED,

    "ToolSearchToolResultBlockParam.content=ToolSearchToolResultErrorParam": SERVED,
    "ToolSearchToolResultBlockParam.content=ToolSearchToolSearchResultBlockParam": SERVED,
    "ToolSearchToolResultBlockParam.cache_control": SERVED,
    "ToolSearchToolResultBlockParam.cache_control=None": SERVED,

    "CitationCharLocationParam.document_title=None": SERVED,

    "CitationPageLocationParam.document_title=None": SERVED,

    "CitationContentBlockLocationParam.document_title=None": SERVED,

    "CitationWebSearchResultLocationParam.title=None": SERVED,

    "CitationSearchResultLocationParam.title=None": SERVED,

    "Base64ImageSourceParam.data=str": SERVED,
    "Base64ImageSourceParam.data=IO": SERVED,  # lead: check
    "Base64ImageSourceParam.data=PathLike": SERVED,  # lead: check
    "Base64ImageSourceParam.media_type=image/jpeg": SERVED,
    "Base64ImageSourceParam.media_type=image/png": SERVED,
    "Base64ImageSourceParam.media_type=image/gif": SERVED,
    "Base64ImageSourceParam.media_type=image/webp": SERVED,

    "ImageTransformationsParam.oversized_image=downsize": SERVED,
    "ImageTransformationsParam.oversized_image=error": SERVED,

    "ContentBlockSourceParam.content=str": SERVED,
    "ContentBlockSourceParam.content=TextBlockParam": SERVED,
    "ContentBlockSourceParam.content=ImageBlockParam": SERVED,

    "CitationsConfigParam.enabled": SERVED,

    "ToolReferenceBlockParam.cache_control": SERVED,
    "ToolReferenceBlockParam.cache_control=None": SERVED,

    "BrowserStateBlockParam.cache_control": SERVED,
    "BrowserStateBlockParam.cache_control=None": SERVED,
    "BrowserStateBlockParam.state_changes=BrowserStateChangeTabOpenedParam": SERVED,
    "BrowserStateBlockParam.state_changes=BrowserStateChangeDownloadStartedParam": SERVED,
    "BrowserStateBlockParam.state_changes=BrowserStateChangeDownloadCompletedParam": SERVED,
    "BrowserStateBlockParam.state_changes=BrowserStateChangeDownloadFailedParam": SERVED,
    "BrowserStateBlockParam.state_changes=None": SERVED,

    "WebSearchResultBlockParam.page_age": SERVED,
    "WebSearchResultBlockParam.page_age=None": SERVED,

    "WebSearchToolRequestErrorObjectParam.error_code=invalid_tool_input": SERVED,
    "WebSearchToolRequestErrorObjectParam.error_code=unavailable": SERVED,
    "WebSearchToolRequestErrorObjectParam.error_code=max_uses_exceeded": SERVED,
    "WebSearchToolRequestErrorObjectParam.error_code=too_many_requests": SERVED,
    "WebSearchToolRequestErrorObjectParam.error_code=query_too_long": SERVED,
    "WebSearchToolRequestErrorObjectParam.error_code=request_too_large": SERVED,

    "WebFetchToolResultErrorBlockParam.error_code=invalid_tool_input": SERVED,
    "WebFetchToolResultErrorBlockParam.error_code=url_too_long": SERVED,
    "WebFetchToolResultErrorBlockParam.error_code=url_not_allowed": SERVED,
    "WebFetchToolResultErrorBlockParam.error_code=url_not_in_prior_context": SERVED,
    "WebFetchToolResultErrorBlockParam.error_code=url_not_accessible": SERVED,
    "WebFetchToolResultErrorBlockParam.error_code=unsupported_content_type": SERVED,
    "WebFetchToolResultErrorBlockParam.error_code=too_many_requests": SERVED,
    "WebFetchToolResultErrorBlockParam.error_code=max_uses_exceeded": SERVED,
    "WebFetchToolResultErrorBlockParam.error_code=unavailable": SERVED,
    "WebFetchToolResultErrorBlockParam.error_code=content_too_large": SERVED,

    "WebFetchBlockParam.retrieved_at": SERVED,
    "WebFetchBlockParam.retrieved_at=None": SERVED,

    "CodeExecutionToolResultErrorParam.error_code=invalid_tool_input": SERVED,
    "CodeExecutionToolResultErrorParam.error_code=unavailable": SERVED,
    "CodeExecutionToolResultErrorParam.error_code=too_many_requests": SERVED,
    "CodeExecutionToolResultErrorParam.error_code=execution_time_exceeded": SERVED,

    "BashCodeExecutionToolResultErrorParam.error_code=invalid_tool_input": SERVED,
    "BashCodeExecutionToolResultErrorParam.error_code=unavailable": SERVED,
    "BashCodeExecutionToolResultErrorParam.error_code=too_many_requests": SERVED,
    "BashCodeExecutionToolResultErrorParam.error_code=execution_time_exceeded": SERVED,
    "BashCodeExecutionToolResultErrorParam.error_code=output_file_too_large": SERVED,

    "TextEditorCodeExecutionToolResultErrorParam.error_code=invalid_tool_input": SERVED,
    "TextEditorCodeExecutionToolResultErrorParam.error_code=unavailable": SERVED,
    "TextEditorCodeExecutionToolResultErrorParam.error_code=too_many_requests": SERVED,
    "TextEditorCodeExecutionToolResultErrorParam.error_code=execution_time_exceeded": SERVED,
    "TextEditorCodeExecutionToolResultErrorParam.error_code=file_not_found": SERVED,
    "TextEditorCodeExecutionToolResultErrorParam.error_message": SERVED,
    "TextEditorCodeExecutionToolResultErrorParam.error_message=None": SERVED,

    "TextEditorCodeExecutionViewResultBlockParam.file_type=text": SERVED,
    "TextEditorCodeExecutionViewResultBlockParam.file_type=image": SERVED,
    "TextEditorCodeExecutionViewResultBlockParam.file_type=pdf": SERVED,
    "TextEditorCodeExecutionViewResultBlockParam.num_lines": SERVED,
    "TextEditorCodeExecutionViewResultBlockParam.num_lines=None": SERVED,
    "TextEditorCodeExecutionViewResultBlockParam.start_line": SERVED,
    "TextEditorCodeExecutionViewResultBlockParam.start_line=None": SERVED,
    "TextEditorCodeExecutionViewResultBlockParam.total_lines": SERVED,
    "TextEditorCodeExecutionViewResultBlockParam.total_lines=None": SERVED,

    "TextEditorCodeExecutionStrReplaceResultBlockParam.lines": SERVED,
    "TextEditorCodeExecutionStrReplaceResultBlockParam.lines=None": SERVED,
    "TextEditorCodeExecutionStrReplaceResultBlockParam.new_lines": SERVED,
    "TextEditorCodeExecutionStrReplaceResultBlockParam.new_lines=None": SERVED,
    "TextEditorCodeExecutionStrReplaceResultBlockParam.new_start": SERVED,
    "TextEditorCodeExecutionStrReplaceResultBlockParam.new_start=None": SERVED,
    "TextEditorCodeExecutionStrReplaceResultBlockParam.old_lines": SERVED,
    "TextEditorCodeExecutionStrReplaceResultBlockParam.old_lines=None": SERVED,
    "TextEditorCodeExecutionStrReplaceResultBlockParam.old_start": SERVED,
    "TextEditorCodeExecutionStrReplaceResultBlockParam.old_start=None": SERVED,

    "ToolSearchToolResultErrorParam.error_message": SERVED,
    "ToolSearchToolResultErrorParam.error_message=None": SERVED,

    "BrowserStateTabEntryParam.active": SERVED,

    "BrowserStateChangeDownloadCompletedParam.path": SERVED,
    "BrowserStateChangeDownloadCompletedParam.path=None": SERVED,
    "BrowserStateChangeDownloadCompletedParam.size_bytes": SERVED,
    "BrowserStateChangeDownloadCompletedParam.size_bytes=None": SERVED,

    "BrowserStateChangeDownloadFailedParam.error": SERVED,
    "BrowserStateChangeDownloadFailedParam.error=None": SERVED,

    "ContainerParams.id": SERVED,
    "ContainerParams.id=None": SERVED,
    "ContainerParams.skills": SERVED,  # lead: check
    "ContainerParams.skills=None": SERVED,

    "DiagnosticsParam.previous_message_id": SERVED,
    "DiagnosticsParam.previous_message_id=None": SERVED,

    "MetadataParam.user_id": SERVED,
    "MetadataParam.user_id=None": SERVED,

    "OutputConfigParam.effort=low": SERVED,
    "OutputConfigParam.effort=medium": SERVED,
    "OutputConfigParam.effort=high": SERVED,
    "OutputConfigParam.effort=xhigh": SERVED,
    "OutputConfigParam.effort=max": SERVED,
    "OutputConfigParam.effort=None": SERVED,
    "OutputConfigParam.format": SERVED,
    "OutputConfigParam.format=None": SERVED,

    "ThinkingConfigEnabledParam.display=summarized": SERVED,
    "ThinkingConfigEnabledParam.display=omitted": SERVED,
    "ThinkingConfigEnabledParam.display=None": SERVED,

    "ThinkingConfigAdaptiveParam.display=summarized": SERVED,
    "ThinkingConfigAdaptiveParam.display=omitted": SERVED,
    "ThinkingConfigAdaptiveParam.display=None": SERVED,

    "ToolChoiceAutoParam.disable_parallel_tool_use": SERVED,

    "ToolChoiceAnyParam.disable_parallel_tool_use": SERVED,

    "ToolChoiceToolParam.disable_parallel_tool_use": SERVED,

    "SkillParams.type=anthropic": SERVED,
    "SkillParams.type=custom": SERVED,
    "SkillParams.version": SERVED,

    "ToolBash20241022Param.cache_control": SERVED,
    "ToolBash20241022Param.cache_control=None": SERVED,
    "ToolBash20241022Param.defer_loading": SERVED,
    "ToolBash20241022Param.input_examples": SERVED,
    "ToolBash20241022Param.strict": SERVED,

    "ToolTextEditor20241022Param.cache_control": SERVED,
    "ToolTextEditor20241022Param.cache_control=None": SERVED,
    "ToolTextEditor20241022Param.defer_loading": SERVED,
    "ToolTextEditor20241022Param.input_examples": SERVED,
    "ToolTextEditor20241022Param.strict": SERVED,

    "ServerToolUseBlockParam.name=advisor": SERVED,  # lead: check

    "AdvisorToolResultBlockParam.content=AdvisorToolResultErrorParam": SERVED,
    "AdvisorToolResultBlockParam.content=AdvisorResultBlockParam": SERVED,
    "AdvisorToolResultBlockParam.content=AdvisorRedactedResultBlockParam": SERVED,
    "AdvisorToolResultBlockParam.cache_control": SERVED,
    "AdvisorToolResultBlockParam.cache_control=None": SERVED,

    "MCPToolUseBlockParam.cache_control": SERVED,
    "MCPToolUseBlockParam.cache_control=None": SERVED,

    "RequestMCPToolResultBlockParam.cache_control": SERVED,
    "RequestMCPToolResultBlockParam.cache_control=None": SERVED,
    "RequestMCPToolResultBlockParam.content=str": SERVED,
    "RequestMCPToolResultBlockParam.content=TextBlockParam": SERVED,
    "RequestMCPToolResultBlockParam.is_error": SERVED,

    "CompactionBlockParam.cache_control": SERVED,
    "CompactionBlockParam.cache_control=None": SERVED,
    "CompactionBlockParam.content": SERVED,
    "CompactionBlockParam.content=None": SERVED,
    "CompactionBlockParam.encrypted_content": SERVED,
    "CompactionBlockParam.encrypted_content=None": SERVED,
    "CompactionBlockParam.signature": SERVED,
    "CompactionBlockParam.signature=None": SERVED,
    "CompactionBlockParam.tool_changes=RequestToolAdditionBlockParam": SERVED,  # lead: check
    "CompactionBlockParam.tool_changes=RequestToolRemovalBlockParam": SERVED,
    "CompactionBlockParam.tool_changes=None": SERVED,

    "RequestToolAdditionBlockParam.tool=ToolChangeToolReferenceParam": SERVED,
    "RequestToolAdditionBlockParam.tool=ToolChangeMCPToolReferenceParam": bad("mcp_tool_reference"),  # lead: check
    "RequestToolAdditionBlockParam.tool=ToolChangeMCPToolsetReferenceParam": bad("mcp_toolset_reference"),  # lead: check
    "RequestToolAdditionBlockParam.tool=ToolChangeToolDefinitionParam": SERVED,  # lead: check
    "RequestToolAdditionBlockParam.cache_control": SERVED,
    "RequestToolAdditionBlockParam.cache_control=None": SERVED,

    "RequestToolRemovalBlockParam.tool=ToolChangeToolReferenceParam": SERVED,
    "RequestToolRemovalBlockParam.tool=ToolChangeMCPToolReferenceParam": bad("mcp_tool_reference"),  # lead: check
    "RequestToolRemovalBlockParam.tool=ToolChangeMCPToolsetReferenceParam": bad("mcp_toolset_reference"),  # lead: check
    "RequestToolRemovalBlockParam.cache_control": SERVED,
    "RequestToolRemovalBlockParam.cache_control=None": SERVED,

    "FallbackBlockParam.trigger": SERVED,

    "SystemMessageOutputConfigParam.effort=None": SERVED,

    "AdvisorToolResultErrorParam.error_code=max_uses_exceeded": SERVED,
    "AdvisorToolResultErrorParam.error_code=prompt_too_long": SERVED,
    "AdvisorToolResultErrorParam.error_code=too_many_requests": SERVED,
    "AdvisorToolResultErrorParam.error_code=overloaded": SERVED,
    "AdvisorToolResultErrorParam.error_code=unavailable": SERVED,
    "AdvisorToolResultErrorParam.error_code=execution_time_exceeded": SERVED,
    "AdvisorToolResultErrorParam.error_code=model_not_found": SERVED,

    "AdvisorResultBlockParam.stop_reason": SERVED,
    "AdvisorResultBlockParam.stop_reason=None": SERVED,

    "AdvisorRedactedResultBlockParam.stop_reason": SERVED,
    "AdvisorRedactedResultBlockParam.stop_reason=None": SERVED,

    "MCPToolParamParam.description": SERVED,
    "MCPToolParamParam.description=None": SERVED,

    "BillingPolicyParam.bill_to=self": SERVED,
    "BillingPolicyParam.bill_to=user_profile": SERVED,

    "ContextManagementConfigParam.edits=ClearToolUses20250919EditParam": SERVED,
    "ContextManagementConfigParam.edits=ClearThinking20251015EditParam": SERVED,
    # Server-side compaction: Amazon Q has none, and q2api does not fake one (the client compacts on "prompt is too long").
    "ContextManagementConfigParam.edits=Compact20260112EditParam": bad("compact_20260112"),

    "FallbackCreditTokenParam.mode=strict": SERVED,
    "FallbackCreditTokenParam.mode=best_effort": SERVED,

    "FallbackParam.max_tokens": SERVED,
    "FallbackParam.max_tokens=None": SERVED,
    "FallbackParam.output_config": SERVED,
    "FallbackParam.output_config=None": SERVED,
    "FallbackParam.speed=standard": SERVED,
    "FallbackParam.speed=fast": SERVED,
    "FallbackParam.speed=None": SERVED,
    "FallbackParam.thinking=None": SERVED,

    "OutputConfigParam.task_budget": SERVED,  # lead: check
    "OutputConfigParam.task_budget=None": SERVED,

    "ThinkingConfigEnabledParam.block_binding": SERVED,  # lead: check
    "ThinkingConfigEnabledParam.block_binding=None": SERVED,
    "ThinkingConfigEnabledParam.display=updates": SERVED,  # lead: check

    "ThinkingConfigAdaptiveParam.block_binding": SERVED,  # lead: check
    "ThinkingConfigAdaptiveParam.block_binding=None": SERVED,
    "ThinkingConfigAdaptiveParam.display=updates": SERVED,  # lead: check

    "ClearToolUses20250919EditParam.clear_at_least": SERVED,
    "ClearToolUses20250919EditParam.clear_at_least=None": SERVED,
    "ClearToolUses20250919EditParam.clear_tool_inputs=bool": SERVED,
    "ClearToolUses20250919EditParam.clear_tool_inputs=list[str]": SERVED,
    "ClearToolUses20250919EditParam.clear_tool_inputs=None": SERVED,
    "ClearToolUses20250919EditParam.exclude_tools": SERVED,
    "ClearToolUses20250919EditParam.exclude_tools=None": SERVED,
    "ClearToolUses20250919EditParam.keep": SERVED,
    "ClearToolUses20250919EditParam.trigger=InputTokensTriggerParam": SERVED,
    "ClearToolUses20250919EditParam.trigger=ToolUsesTriggerParam": SERVED,

    "ClearThinking20251015EditParam.keep=ThinkingTurnsParam": SERVED,
    "ClearThinking20251015EditParam.keep=AllThinkingTurnsParam": SERVED,
    "ClearThinking20251015EditParam.keep=all": SERVED,


    "TokenTaskBudgetParam.remaining": SERVED,
    "TokenTaskBudgetParam.remaining=None": SERVED,

    "ThinkingBlockBindingParam.prefix_mismatch_behavior=error": SERVED,
    "ThinkingBlockBindingParam.prefix_mismatch_behavior=drop_block": SERVED,
    "ThinkingBlockBindingParam.prefix_mismatch_behavior=None": SERVED,

    # --- Fields the SDK no longer declares that clients still send (EXTRAS below).
    "extra:request.temperature": SERVED,
    "extra:request.top_p": SERVED,
    "extra:request.top_k": SERVED,
    "extra:request.output_format": SERVED,
}
# fmt: on


def is_served(name: str) -> bool:
    rule = RULES.get(name)
    return rule is not None and rule.served


# ---------------------------------------------------------------------------------------------
# Fields that clients still send but the installed SDK no longer declares (sent through extra_body)
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Extra:
    name: str
    surface: sdk_surface.Surface
    fields: dict[str, Any]
    betas: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.name


EXTRAS = [
    # Sampling parameters: gone from the SDK's types, sent by older SDKs, litellm, aider, LangChain.
    Extra("extra:request.temperature", "messages", {"temperature": 0.7}),
    Extra("extra:request.top_p", "messages", {"top_p": 0.9}),
    Extra("extra:request.top_k", "messages", {"top_k": 40}),
    # The beta structured-output field litellm sends (the SDK's `parse()` now turns it into output_config.format).
    Extra(
        "extra:request.output_format",
        "beta",
        {"output_format": {"type": "json_schema", "schema": sdk_surface.ANSWER_SCHEMA}},
        ("structured-outputs-2025-11-13",),
    ),
]

# ---------------------------------------------------------------------------------------------
# The variants
# ---------------------------------------------------------------------------------------------

try:
    SURFACE = sdk_surface.SdkSurface(is_served)
    CREATE = SURFACE.variants("create")
    COUNT = SURFACE.variants("count_tokens")
    WALK_ERROR: Exception | None = None
except Exception as error:  # a construct the walker does not know: one failing test says so
    CREATE, COUNT, WALK_ERROR = [], [], error

# Streaming is tested where the reply itself depends on the variant (thinking, output, tools, roles,
# context management); for a block in the history or a field q2api ignores it would repeat the non-streaming
# case (the request is decoded once, whatever the reply's framing).
STREAMED_PREFIXES = (
    "request.messages=",
    "SystemMessageParam.",
    "request.thinking=",
    "ThinkingConfig",
    "request.output_config",
    "OutputConfigParam.",
    "request.tool_choice=",
    "ToolChoice",
    "request.context_management",
    "ContextManagementConfigParam.",
)
STREAMED = [v for v in CREATE if v.name.startswith(STREAMED_PREFIXES) and is_served(v.name)]


def variant_ids(variants: list) -> list[str]:
    return [v.id for v in variants]


def rule_for(variant: sdk_surface.Variant | Extra) -> Rule:
    rule = RULES.get(variant.name)
    if rule is None:
        where = (
            " > ".join(f"{s.owner}.{s.key}={s.member.name}" for s in variant.path)
            if isinstance(variant, sdk_surface.Variant)
            else "extra_body"
        )
        pytest.fail(
            f"new in the SDK: {variant.name} ({variant.surface} surface, at {where}); "
            f"add a rule for it to RULES in {__file__}",
            pytrace=False,
        )
    return rule


# ---------------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sdk(env: Env):
    client = make_client(env.base_url, api_key=env.api_key)
    yield client
    client.close()


def _call(method: Callable, body: dict, extra_body: dict | None = None, **kwargs: Any) -> Any:
    """Calls an SDK method with the body's keys as keyword arguments; keys it does not declare go in
    extra_body."""
    declared = inspect.signature(method).parameters
    arguments = {k: v for k, v in body.items() if k in declared}
    extra = {k: v for k, v in body.items() if k not in declared}
    extra.update(extra_body or {})
    if extra:
        arguments["extra_body"] = extra
    return method(**arguments, **kwargs)


def resource(sdk: anthropic.Anthropic, surface: str):
    return sdk.beta.messages if surface == "beta" else sdk.messages


def with_betas(surface: str, body: dict, extra: tuple[str, ...] = ()) -> dict:
    """The body with the beta headers a real client sends along with its fields (beta surface only)."""
    if surface != "beta":
        return body
    betas = list(body.get("betas", []))
    for beta in (*sdk_surface.betas_for(body), *extra):
        if beta not in betas:
            betas.append(beta)
    return {**body, "betas": betas} if betas else body


STOP_REASONS = set(get_args(anthropic.types.StopReason)) | set(get_args(anthropic.types.beta.BetaStopReason))


def describe(body: dict) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, pydantic.BaseModel):
            return value.model_dump(mode="json", exclude_unset=True)
        return repr(value)

    text = json.dumps(body, default=plain)
    return text if len(text) < 1500 else text[:1500] + "..."


def check_reply_text(text: str, body: dict) -> None:
    """A reply to a request with a JSON schema satisfies it (the simulator was asked for `{"answer": "ok"}`)."""
    if sdk_surface.has_format(body):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        matches = isinstance(value, dict) and isinstance(value.get("answer"), str)
        assert matches, f"the reply does not match the schema: {text!r}"


def thinking_omitted(body: dict) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("display") == "omitted"


def check_message(message: Any, body: dict) -> None:
    """A well-formed non-streaming reply (thinking blocks signed, and empty when the display is omitted)."""
    assert message.type == "message", message
    assert message.role == "assistant", message
    assert isinstance(message.id, str) and message.id, message
    assert isinstance(message.content, list), message
    assert message.stop_reason in STOP_REASONS, message
    assert isinstance(message.usage.input_tokens, int) and message.usage.input_tokens >= 0, message.usage
    assert isinstance(message.usage.output_tokens, int) and message.usage.output_tokens >= 0, message.usage
    texts = []
    for block in message.content:
        if block.type == "text":
            assert isinstance(block.text, str), block
            texts.append(block.text)
        elif block.type == "thinking":
            assert isinstance(block.thinking, str) and isinstance(block.signature, str) and block.signature, block
            assert not (thinking_omitted(body) and block.thinking), f"thinking shown, display omitted: {block}"
        elif block.type == "tool_use":
            assert block.id and block.name and isinstance(block.input, dict), block
    check_reply_text("".join(texts), body)


DELTA_FOR_BLOCK = {
    "text": {"text_delta", "citations_delta"},
    "thinking": {"thinking_delta", "signature_delta"},
    "tool_use": {"input_json_delta"},
    "server_tool_use": {"input_json_delta"},
}


def check_stream(events: list[Any], body: dict) -> None:
    """A well-formed event stream: message_start, per block start/deltas/stop with consecutive indices and
    matching delta types (a thinking block signed before it stops, its text empty when the display is omitted),
    one message_delta, message_stop."""
    kinds = [e.type for e in events]
    assert kinds and kinds[0] == "message_start", kinds
    assert kinds[-1] == "message_stop", kinds
    assert kinds.count("message_start") == 1 and kinds.count("message_stop") == 1, kinds
    assert kinds.count("message_delta") == 1 and kinds.index("message_delta") == len(kinds) - 2, kinds
    open_block: tuple[int, str] | None = None
    next_index = 0
    signed = False
    texts: list[str] = []
    for event in events[1:-2]:
        if event.type == "content_block_start":
            assert open_block is None, f"block {event.index} starts inside block {open_block}: {kinds}"
            assert event.index == next_index, f"block index {event.index}, expected {next_index}: {kinds}"
            open_block, signed = (event.index, event.content_block.type), False
            next_index += 1
        elif event.type == "content_block_delta":
            inside = open_block is not None and event.index == open_block[0]
            assert inside, f"delta for block {event.index} outside it: {kinds}"
            allowed = DELTA_FOR_BLOCK.get(open_block[1])  # type: ignore[index]
            if allowed is not None:
                assert event.delta.type in allowed, f"{event.delta.type} in a {open_block[1]} block"
            signed = signed or event.delta.type == "signature_delta"
            if event.delta.type == "thinking_delta" and thinking_omitted(body):
                assert not event.delta.thinking, "thinking streamed although display is omitted"
            if event.delta.type == "text_delta":
                texts.append(event.delta.text)
        elif event.type == "content_block_stop":
            inside = open_block is not None and event.index == open_block[0]
            assert inside, f"stop of block {event.index} that is not open: {kinds}"
            if open_block[1] == "thinking":
                assert signed, "a thinking block stopped without a signature_delta"
            open_block = None
        else:
            raise AssertionError(f"unexpected event {event.type} in the stream: {kinds}")
    assert open_block is None, f"block {open_block} never stopped: {kinds}"
    delta = events[-2]
    assert delta.delta.stop_reason in STOP_REASONS, delta
    assert isinstance(delta.usage.output_tokens, int), delta
    check_reply_text("".join(texts), body)


def expect(rule: Rule, label: str, body: dict, send: Callable[[], Any], check: Callable[[Any], None]) -> None:
    """Sends the request and checks the outcome against the rule; a failure says what q2api answered."""
    problem = outcome(rule, send, check)
    if problem is not None:
        pytest.fail(f"{label}: {problem}\nrequest: {describe(body)}", pytrace=False)


def outcome(rule: Rule, send: Callable[[], Any], check: Callable[[Any], None]) -> str | None:
    expected = "200" if rule.served else f"400 naming {' or '.join(map(repr, rule.names))}"
    try:
        result = send()
        if not rule.served:
            return f"expected {expected}, got 200"
        check(result)
    except anthropic.APIStatusError as error:
        detail = error.body if error.body is not None else error.response.text
        got = f"got {error.status_code}: {json.dumps(detail) if isinstance(detail, dict) else detail}"
        if error.status_code == 200:
            return f"expected {expected}, got an error event in the stream: {detail}"
        if rule.served or error.status_code != 400:
            return f"expected {expected}, {got}"
        err = detail.get("error") if isinstance(detail, dict) and detail.get("type") == "error" else None
        if not isinstance(err, dict) or err.get("type") != "invalid_request_error":
            return f"expected {expected} (an invalid_request_error envelope), {got}"
        message = str(err.get("message", ""))
        if not any(name.lower() in message.lower() for name in rule.names):
            return f"expected {expected}, got a 400 that does not name it: {message!r}"
    except anthropic.APIConnectionError as error:
        return f"expected {expected}, got no answer: {error!r}"
    except AssertionError as error:
        return f"served, but the reply is not well-formed: {error}"
    return None


def create(
    sdk: anthropic.Anthropic, surface: str, body: dict, stream: bool, extra_body: dict | None = None
) -> Callable[[], Any]:
    """The SDK call (not yet made): messages.create or beta.messages.create; a stream is read to its end."""
    method = resource(sdk, surface).create
    if stream:
        payload = {k: v for k, v in body.items() if k != "stream"}
        return lambda: list(_call(method, payload, extra_body, stream=True))
    return lambda: _call(method, body, extra_body)


def count_tokens(
    sdk: anthropic.Anthropic, surface: str, body: dict, extra_body: dict | None = None
) -> Callable[[], Any]:
    """The SDK call (not yet made): messages.count_tokens or beta.messages.count_tokens."""
    return lambda: _call(resource(sdk, surface).count_tokens, body, extra_body)


def check_count(result: Any) -> None:
    assert isinstance(result.input_tokens, int) and result.input_tokens > 0, result


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", CREATE, ids=variant_ids(CREATE))
def test_create(sdk: anthropic.Anthropic, variant: sdk_surface.Variant) -> None:
    rule = rule_for(variant)
    body = with_betas(variant.surface, SURFACE.body(variant))
    stream = body.get("stream") is True  # the `stream=True` variant
    check = (lambda events: check_stream(events, body)) if stream else (lambda message: check_message(message, body))
    label = f"{variant.id} ({'stream' if stream else 'create'})"
    expect(rule, label, body, create(sdk, variant.surface, body, stream), check)


@pytest.mark.parametrize("variant", STREAMED, ids=variant_ids(STREAMED))
def test_stream(sdk: anthropic.Anthropic, variant: sdk_surface.Variant) -> None:
    rule = rule_for(variant)
    body = with_betas(variant.surface, SURFACE.body(variant))
    send = create(sdk, variant.surface, body, True)
    expect(rule, f"{variant.id} (stream)", body, send, lambda events: check_stream(events, body))


@pytest.mark.parametrize("variant", COUNT, ids=variant_ids(COUNT))
def test_count_tokens(sdk: anthropic.Anthropic, variant: sdk_surface.Variant) -> None:
    rule = rule_for(variant)
    body = with_betas(variant.surface, SURFACE.body(variant))
    expect(rule, f"{variant.id} (count_tokens)", body, count_tokens(sdk, variant.surface, body), check_count)


@pytest.mark.parametrize("extra", EXTRAS, ids=variant_ids(EXTRAS))
@pytest.mark.parametrize("mode", ["create", "stream", "count_tokens"])
def test_extra_field(sdk: anthropic.Anthropic, extra: Extra, mode: str) -> None:
    rule = rule_for(extra)
    body: dict[str, Any] = {"model": sdk_surface.MODEL, "messages": [sdk_surface.last_turn()]}
    if mode != "count_tokens":
        body["max_tokens"] = 2048
    body = with_betas(extra.surface, body, extra.betas)
    shown = {**body, **extra.fields}
    label = f"{extra.id} ({mode})"
    if mode == "count_tokens":
        expect(rule, label, shown, count_tokens(sdk, extra.surface, body, extra.fields), check_count)
    elif mode == "stream":
        send = create(sdk, extra.surface, body, True, extra.fields)
        expect(rule, label, shown, send, lambda events: check_stream(events, shown))
    else:
        send = create(sdk, extra.surface, body, False, extra.fields)
        expect(rule, label, shown, send, lambda message: check_message(message, shown))


def test_walk() -> None:
    """The walker understands every type of the installed SDK."""
    if WALK_ERROR is not None:
        pytest.fail(f"the walker cannot read the installed SDK's types: {WALK_ERROR!r}", pytrace=False)
    assert CREATE and COUNT


def test_rules_are_current() -> None:
    """Every rule names something the installed SDK (or EXTRAS) still has."""
    found = {v.name for v in CREATE} | {v.name for v in COUNT} | {e.name for e in EXTRAS}
    gone = sorted(set(RULES) - found)
    assert not gone, f"gone from the SDK (or now under a rejected parent), remove their rules: {gone}"
