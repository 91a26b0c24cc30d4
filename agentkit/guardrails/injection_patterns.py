"""The injection patterns, by family, written once against the normalised forms of a text.

Patterns read lowercase text in which look-alikes, accents and leetspeak are already folded (see
:mod:`agentkit.guardrails.normalise`), so the Latin-script languages are written without accents.
Each needs an instruction *to the assistant* (its instructions, prompt, rules, persona or
permissions), so SRE language that shares the verbs ("ignore the staging alarms", "drop the
previous messages in the DLQ", "kill the runaway lambda", "act as incident commander") does not
match.
"""

# Non-ASCII letters are the point of the multilingual patterns, and a regex reads better whole.
# ruff: noqa: RUF001, E501

from __future__ import annotations

import re

_VERB = (
    r"(?:ignore|disregard|forget|override|bypass|skip|discard|throw away|cancel|abandon|"
    r"set aside|neglect|erase|reset|drop|not follow|don'?t follow|stop following|never follow|"
    r"no longer follow|not obey|don'?t obey|stop obeying|unlearn|put aside|suspend|leave behind|"
    r"step outside|break free of|break out of|escape|not apply|don'?t apply|stop applying)"
)
_QUAL = (
    r"(?:all|any|every|each|of|the|your|my|these|those|its|previous|prior|above|earlier|"
    r"preceding|former|initial|original|old|existing|current|system|safety|content|usual|default|"
    r"hidden|given|dr-only|topic|developer|programmed|built-in|standing|whole)"
)
# Nouns that name the assistant's own instructions, and weaker ones that need a qualifier that
# points at the assistant ("your rules", "all previous rules", not "the safety rules" of a tool).
_NOUN = (
    r"(?:instructions?|prompts?|guidelines?|directives?|directions|programming|guardrails?|"
    r"system (?:message|prompt)|developer message|conditioning|training)"
)
_WEAK_NOUN = (
    r"(?:rules|restrictions?|constraints|polic(?:y|ies)|guidance|filters?|context|orders|commands|"
    r"(?:safety )?checks|safeguards|safety|refusal logic|refusals?|setup|configuration)"
)
_STRONG_QUAL = (
    r"(?:your|all|previous|prior|above|earlier|preceding|initial|original|system|given|dr-only|"
    r"topic|usual|built-in|programmed|standing)"
)
_ELSEWHERE = (
    r"(?! (?:in|from|of|for|on) (?:the|our|this|that|a) (?:[\w-]+ )?(?:runbooks?|wiki|doc\w*|"
    r"playbooks?|readme|tickets?|e-?mails?|pages?|manual|guides?|confluence|console|repo\w*))"
)
_ROLE_WORD = r"(?:ai|assistant|model|llm|chatbot|agent|bot|gpt|language model|claude|copilot)"
# Who an instruction hidden in data addresses. Bare "agent", "model" and "bot" are left out:
# logs name their own components that way ("ecs-agent: run task", "model: anthropic...").
_ADDRESSEE = (
    r"(?:ai|llm|chatbot|gpt|claude|copilot|language model|assistant|ai (?:agent|assistant|model))"
)
_UNBOUND = (
    r"(?:unrestricted|uncensored|unfiltered|unlocked|jailbr\w+|evil\w*|rogue|unethical|"
    r"amoral|unbound|limitless|lawless)"
)
_NO_LIMITS = (
    r"(?:without|with no|with zero|zero|no|free (?:of|from))\s+(?:any\s+)?(?:content polic\w+|restrictions|"
    r"filters?|filtering|limitations|limits|rules|censorship|guardrails|guidelines|ethics|"
    r"content rules|content filters?|"
    r"safety)"
)
_MODES = r"(?:dan|developer|dev|god|jailbreak|opposite|unfiltered|unrestricted|sudo|admin|root)"
_AUTHORITY = (
    r"(?:sys ?admin|system administrator|administrator|admin|developer|owner|operator|ceo|cto|"
    r"ciso|security team|creator|root user|superuser|maintainer|red team|engineer|manager|"
    r"director|boss|supervisor|architect|incident commander|(?:\w+ )?who (?:built|deployed|"
    r"created|trained|made|wrote|configured|owns) you)"
)
_GRANT = r"(?:authori[sz]e|permit|allow|order|command|instruct|grant|direct|clear|unlock|free)"


def _all(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


# Read against the plain and folded forms, and against every decoded span.
FAMILIES: dict[str, tuple[re.Pattern[str], ...]] = {
    "instruction_override": _all(
        rf"\b{_VERB}\s+(?:{_QUAL}\s+){{0,4}}{_NOUN}\b{_ELSEWHERE}",
        rf"\b{_VERB}\s+(?:{_QUAL}\s+){{0,3}}{_STRONG_QUAL}\s+(?:{_QUAL}\s+){{0,2}}{_WEAK_NOUN}\b",
        rf"\b{_VERB}\s+(?:{_QUAL}\s+){{0,3}}(?:{_NOUN}|{_WEAK_NOUN}) (?:that |which )?you "
        r"(?:were|have been|got|received|are)\b",
        r"\b(?:real|actual|true|updated|revised|hidden|genuine) (?:instructions|task|prompt|rules|"
        r"orders|ones)\b.{0,15}(?:\b(?:follow|below|are)\b)?\s*:",
        r"\b(?:previous|prior|earlier|above|all|your|the) (?:context|instructions|rules|messages|"
        r"prompts?|guidelines|constraints)(?: above| so far| before this)? (?:is|are|were|was) (?:now |"
        r"just )?(?:irrelevant|void|obsolete|invalid|cancel+ed|a (?:decoy|test|joke|mistake|trick)|"
        r"fake|not real|revoked|no longer valid)",
        r"\bwhatever you (?:were|are|have been) (?:set up|told|programmed|instructed|configured|"
        r"supposed|trained)\b",
        r"\b(?:treat|consider|regard)\s+(?:everything|all|anything)\s+(?:before|above|prior to)\s+"
        r"(?:this|my|here|now)\b",
        r"\b(?:reset|start (?:fresh|over)|wipe)\b.{0,30}\bwithout (?:any of )?(?:the |your )?(?:setup|"
        r"configuration|instructions|rules|prompt)\b",
        r"\bnone of (?:your|the) (?:(?:earlier|previous|prior|original|initial) )?(?:directions|"
        r"instructions|rules|guidelines|prompts?) (?:matter|apply|count)|\b(?:just )?do (?:as|what) i "
        r"say\b",
        r"\b(?:obey|follow) only (?:this|my|the next|these)\b|\bonly obey\b",
        r"\bpriority (?:override|instruction|directive|message)\s*:",
        r"\b(?:supersedes?|overrides?|replaces?|takes precedence over) (?:your|the|all) (?:configuration|"
        r"instructions|rules|guidelines|system prompt|previous instructions|programming)\b",
        r"\b(?:answer|respond|reply)\b.{0,10}\bwithout (?:them|those|your (?:rules|guidelines|"
        r"restrictions|filters|instructions))\b",
        r"\b(?:guidelines|rules|instructions|restrictions) (?:in|of|from) your (?:setup|configuration|"
        r"prompt|system)\b",
        r"\b(?:ignores?|disregards?|breaks?|bypass(?:es)?) (?:all|any|every) (?:of )?(?:the |its |"
        r"your )?(?:rules|restrictions|guidelines|filters|policies|instructions)\b",
        r"\byour (?:task|role|job|purpose|mission|objective|instructions) (?:has|have) (?:now )?"
        r"(?:changed|been (?:updated|replaced|changed|overridden))",
        r"\b(?:ignore|disregard|forget)\s+(?:everything|all|what|anything)\b.{0,30}"
        r"\b(?:said|told|above|before|previously|instructed)\b",
        r"\bnew (?:instructions?|rules?|system prompt|task|directives?|orders)\s*[:\-]",
        r"\bfrom now on,? you (?:will|must|are|shall|ignore|answer|respond|act|only|have no|can)\b",
        r"\bfrom now on\b.{0,60}\b(?:ignore|disregard|skip) (?:the |your |all |any )?"
        r"(?:[\w-]+ ){0,2}(?:workflow|instructions?|rules|guidelines|guardrails?|system|process)\b",
        r"\b(?:only|just) (?:reply|respond|answer|say|output|print|write)(?: back)? with "
        r"['\"]?[A-Z0-9-]{4,}\b",
        rf"\b(?:your|the|all|my) (?:previous|prior|earlier|above|original|initial|system) "
        rf"(?:{_NOUN}|{_WEAK_NOUN}) (?:are|is) (?:now )?(?:void|cancel+ed|revoked|obsolete|invalid|null|"
        r"overridden|suspended|no longer)",
        r"\b(?:rules|instructions|guidelines|restrictions|polic(?:y|ies)) (?:that )?you "
        r"(?:were given|have been given|received|got|follow)\b.{0,30}"
        r"\b(?:no longer apply|don'?t apply|do not apply|are void|are suspended|are lifted)",
        r"\b(?:ignore|disregard) (?:what )?the user(?:'s)?(?: (?:request|question|message|says))?\b"
        r"(?! (?:request|question)s? from)",
        r"\b(?:start over|begin again) with a (?:blank|clean) slate\b",
    ),
    "exfiltration": _all(
        r"\b(?:print|show|reveal|repeat|output|display|tell me|give me|leak|dump|share|expose|"
        r"disclose|recite|write out|quote|translate|summari[sz]e|list|paste|what(?:'s| is| was| "
        r"are| were)(?: written)?(?: in)?)\b.{0,30}\b(?:your|the)\s+(?:(?:full|entire|exact|"
        r"verbatim|original|initial|hidden|secret|confidential|internal|system|developer|first|"
        r"starting)\s+){1,3}(?:prompts?|instructions|rules|messages?|guidelines|configuration|"
        r"directives)\b",
        r"\byour (?:system|hidden|initial|original|secret|confidential|developer|internal|"
        r"starting) (?:prompt|instructions|message|rules|guidelines|directives|preamble|"
        r"configuration)\b",
        r"\bwhat (?:are|were) your (?:instructions|rules|system prompt|guidelines|directives)\b",
        r"\b(?:repeat|print|output|show|dump|return)\s+(?:me\s+)?(?:everything|all(?: the)? text|"
        r"the (?:text|words)|all)\s+(?:before|above|prior to|preceding)\b",
        r"\b(?:dump|leak|disclose|expose|exfiltrate)\b.{0,20}\byour (?:configuration|config|"
        r"prompt|instructions|rules|secrets?|api keys?|credentials|prompt template)\b",
        r"\b(?:prompt template|system prompt) you (?:run|use|were given|have)\b",
        r"\b(?:instructions|prompts?|rules|guidelines|preamble|directives)\b.{0,12}\byou (?:were |have "
        r"been )?(?:given|initiali[sz]ed|configured|provided|told|programmed|started)\b",
        r"\b(?:first|last|initial) (?:\d+ )?(?:words|lines|characters|tokens|sentences|paragraphs) "
        r"of (?:your|the) (?:context|prompt|instructions|system|conversation)",
        r"\byour (?:context window|environment variables|env vars|credentials|api keys?|access keys?)\b",
        r"\b(?:environment variables|env vars|credentials|api keys?|secrets|access keys?|tokens)\b "
        r"(?:that )?you (?:can )?(?:see|have|hold|access|know|use)\b",
        r"\b(?:text|block|message|words|content)\b.{0,20}\byou (?:received|got|were given|saw) "
        r"(?:before|at the start|first|earlier)\b",
        r"\bhow (?:were|are|have) you (?:been )?(?:configured|set up|programmed|instructed|prompted)\b",
        r"\b(?:paste|print|show|output|dump|quote)\b.{0,20}\b(?:configuration|config|prompt|"
        r"instructions)\b.{0,10}\bverbatim\b",
        r"\b(?:text|prompt|instructions|rules|document)\b (?:that )?(?:defines?|shapes?|controls?|"
        r"governs?|configures?) (?:your|how you)\b",
        r"\b(?:you (?:were|are|have been)|were you|have you been) (?:told|instructed|asked|"
        r"programmed) not to (?:tell|say|"
        r"reveal|share|disclose|discuss)\b",
        r"\b(?:list|show|print|give me|tell me|reveal|dump)\b.{0,40}\b(?:secret keys?|api keys?|"
        r"credentials|passwords|tokens)\b.{0,15}\b(?:you|they|it) (?:use|have|hold|can see)\b",
        r"\b(?:rules|instructions|things|topics)\b.{0,20}\b(?:you(?:'re| are)|are you) not (?:allowed|permitted|"
        r"supposed) to (?:tell|say|reveal|share|discuss|disclose)",
        r"\b(?:echo|print|show|reveal|repeat|output|dump)\b.{0,20}\b(?:your|the) (?:\w+ )?(?:preamble|"
        r"pre-?prompt|meta-?prompt|system part|hidden context)\b",
    ),
    "role_play": _all(
        r"\byou are (?:now|no longer)\b",
        r"\byou(?:'re| are) going to (?:pretend|act|be|play|roleplay)\b",
        r"\bpretend (?:to be|you(?:'re| are)|that you(?:'re| are)|you're|you can)\b",
        rf"\b(?:act|behave|respond|answer|reply|talk) (?:as|like) (?:if you (?:are|were) )?"
        rf"(?:an? |the |my |your )?(?:[\w-]+ ){{0,3}}(?:{_UNBOUND}|dan|aim|hacker|alter ego|"
        rf"(?:in )?{_MODES} mode)\b",
        # "enable developer mode logging for the failover test" is an operator's request
        rf"\b(?:enable|activate|enter|switch to|turn on|start|unlock|go into)\s+(?:the\s+)?"
        rf"{_MODES}\s+mode\b(?!\s+(?:logging|logs?|flags?|settings?|builds?|for (?:the|our|a)\b))",
        rf"\b{_MODES} mode (?:is )?(?:now )?(?:on|enabled|activated|engaged|unlocked)\b",
        rf"\b(?:you are|you're|stay|remain) (?:now )?in {_MODES} mode\b|\bin {_MODES} mode,? you\b",
        r"\b(?:you are|you're|as|be|called|named|play|become) (?:now )?dan\b|\bdo anything now\b",
        r"\blet'?s play a game\b.{0,80}\b(?:you|rules|no limits|anything|never refuse)\b",
        r"\brole-?play (?:as|that)\b|\bstay in (?:the )?(?:character|role)\b",
        rf"\b(?:imagine|suppose|pretend|hypothetically|assume)\b.{{0,40}}\byou\b.{{0,20}}"
        rf"\b(?:had|have|were|are|with)\s+{_NO_LIMITS}",
        rf"\b(?:simulate|emulate|become|be|you are|you're|play|playing) (?:a |an )?(?:[\w-]+ )?"
        rf"{_UNBOUND} (?:ai|assistant|model|chatbot|bot|llm|version|persona|alter ego)\b",
        rf"\b{_UNBOUND} (?:alter ego|version of (?:you|yourself)|self)\b",
        rf"\b(?:{_ROLE_WORD}|you|answer|respond|reply|output|generate)\b.{{0,25}}\b{_NO_LIMITS}\b",
        r"\byou (?:never|can'?t|cannot|won'?t|will never) refuse\b",
        r"\b(?:broken|break|breaks|breaking|freed|free|liberated|escaped?)\s+(?:free\s+)?(?:of|from)"
        r"\s+(?:its|your|all|their|the)\s+(?:guidelines|rules|restrictions|constraints|programming|"
        r"filters|shackles|chains|guardrails)",
        rf"\b(?:character|role|part|persona) of an? (?:[\w-]+ )?(?:{_ROLE_WORD}|hacker|criminal)\b",
        r"\blet'?s (?:roleplay|role-play|role play|pretend)\b",
        r"\bevil (?:twin|version|clone|side)\b|\bchannel (?:an?|the) (?:ai|assistant|persona|model)\b",
        r"\byou(?:'re| are) (?:my |an? |the )?(?:[\w-]+ ){0,3}(?:ai|assistant|bot|model) now\b",
        r"\b(?:improv|scene|story|roleplay|game)\b.{0,30}\byou are an? (?:ai|assistant|bot|model|"
        r"chatbot)\b",
        r"\b(?!chatgpt\b)[a-z]{2,20}gpt\b",
        r"\ban? (?:ai|assistant|bot|model) (?:whose|that has|with) (?:only |sole )?(?:goal|purpose|job|"
        r"mission) is\b",
        r"\bfrom (?:this point|here on|this moment|now)\b.{0,12}\byou(?:'re| are| will be)\b",
        r"\b(?:ignores?|disregards?)\s+(?:all\s+)?(?:safety|rules|guidelines|restrictions|filters|"
        r"policies|ethics)\b",
        r"\b(?:story|novel|script|poem|scene|fiction|screenplay)\b.{0,40}\b(?:an? )?(?:ai|assistant|"
        r"chatbot|bot|model)\b.{0,40}\b(?:explains?|describes?|tells?|reveals?|shows?)\b",
        r"\bact as an? (?:linux |unix |bash |windows |python |sql )?(?:terminal|shell|console|"
        r"interpreter)\b|\bexecute what(?:ever)? i (?:type|say|write)\b",
        r"\byou will (?:now )?(?:respond|answer|reply|act|speak|talk|behave) (?:as|like)\b",
        r"\b(?:respond|answer|reply) as (?:\w+ )?(?:two|both|2|three) (?:personas|characters|ais|"
        r"versions|bots)\b|\bnever mention (?:policies|rules|guidelines|restrictions|safety)\b",
        r"\b(?:with no|without|no) (?:caveats|disclaimers|moralizing|moralising|refusals?|censorship)\b",
        rf"\b{_ROLE_WORD} character\b.{{0,60}}\b(?:explains?|describes?|tells?|says?)\b",
        r"\byou(?:'re| are) (?:a|an|my) (?:[\w-]+ )?(?:hacker|criminal|villain|black-?hat)\b",
        r"\b(?:activate|enable|start|enter|load|run|unlock)\s+(?:the\s+)?dan\b",
        r"\b(?:late|deceased|dead) (?:grand\w+|mother|father|granny|nana)\b.{0,80}"
        r"\b(?:keys?|passwords?|secrets?|tokens?|credentials|napalm)\b",
    ),
    "fake_authority": _all(
        rf"\bas (?:the |your |an? |this |its )?(?:[\w'-]+ ){{0,3}}{_AUTHORITY}\b.{{0,60}}"
        rf"\b{_GRANT}\w* you\b",
        rf"\b(?:i|we) (?:hereby |now )?(?:{_GRANT}\w*|am granting|'m granting|give) you "
        r"(?:to|permission|full|root|admin|access|clearance)\b",
        r"\b(?:give|giving|grant|granting) you (?:full |my |root |admin |unrestricted )?"
        r"(?:permission|access|clearance|authori[sz]ation)\b",
        r"\byou (?:now )?have (?:my |full |root |admin |explicit )?permission to\b",
        r"\byou are (?:hereby |now )?(?:authori[sz]ed|permitted|allowed|cleared|free) to\b",
        r"\b(?:admin|administrator|system|root|security|emergency|developer) override\b\s*"
        r"(?:[:!\-]|code|accepted|enabled|activated|granted|engaged|mode)",
        r"\b(?:authori[sz]ation|override|admin|access|security|clearance) code\b.{0,40}\byou\b",
        r"\b(?:message|note|notice|directive) from (?:openai|anthropic|aws|amazon|the developers?|"
        r"your developers?|your creators?|the admins?|the system)\b",
        r"\b(?:safety|content|topic) (?:layer|filters?|policy|checks?|guardrails?|mode|rules)"
        r" (?:is |are |has been |have been )?(?:now )?(?:disabled|off|lifted|removed|suspended|"
        r"deactivated)\b.{0,20}(?:for|by|during)? ?(?:this|maintenance|testing|you)",
        r"\brestrictions (?:are |have been )?(?:now )?(?:lifted|removed|disabled|suspended)\s*"
        r"(?:[.!]|$|for you)",
        r"\bsudo\b.{0,20}\b(?:mode|execute|you)\b",
        r"\bi(?: am|'m) (?:an? )?(?:openai|anthropic|aws|amazon|google|meta|microsoft) (?:employee|"
        r"engineer|researcher|staff|developer)\b|\byou must comply\b",
        r"\b(?:request|message|instruction|this) (?:comes|is coming|came) from (?:the |your )?"
        r"(?:[\w-]+ ){0,2}" + _AUTHORITY,
        r"\b(?:policy|safety|content|guardrail|security) checks? (?:are|is) (?:not required|"
        r"unnecessary|not needed|waived|skipped|disabled)\b",
        r"\bi have (?:admin|root|sudo|superuser|elevated|full) (?:rights|access|privileges|"
        r"permissions)\b.{0,40}\byou\b",
        r"\bguardrails? (?:are |have been |is |were )?(?:now )?(?:disabled|off|removed|lifted|"
        r"suspended)\b|\b(?:respond|answer|reply|speak) freely\b",
        r"(?:^|[\n.!] ?)(?:developer|admin|system|operator|maintainer) note\s*:",
        r"\b(?:turn off|disable|switch off|bypass|remove|deactivate) (?:the |your )?(?:injection|"
        r"safety|content|topic|prompt|jailbreak) (?:filter|guard|check|guardrail|detection|"
        r"classifier)s?\b",
        r"\b(?:clearance|authori[sz]ation|identity|credentials?|access) (?:level \w+ )?(?:verified|"
        r"confirmed|granted|approved)\b",
        r"\byou (?:may|can) now (?:share|reveal|ignore|answer|say|tell|disclose|bypass|access|"
        r"speak|discuss)\b",
        r"\b(?:override|access|request|change|exception) (?:is )?(?:authori[sz]ed|approved|granted|"
        r"sanctioned) by\b",
        r"\bby (?:order|authority|permission) of (?:the |your )?(?:[\w-]+ )?" + _AUTHORITY,
        r"\b(?:lift|lifting|remove|removing|disable|disabling|suspend|suspending|relax|relaxing|"
        r"turn(?:ing)? off|switch(?:ing)? off|waive|waiving)\w* (?:all )?(?:of )?your (?:restrictions|"
        r"filters|rules|guardrails|safety|limits|guidelines|policies|content filter)",
        r"\byour (?:restrictions|filters|rules|guardrails|safety (?:filters|rules)|limits|guidelines|"
        r"policies) (?:are|have been|were) (?:now )?(?:switched off|turned off|disabled|lifted|removed|"
        r"suspended|off|deactivated|waived)",
    ),
    "delimiter": _all(
        r"<\s*/?\s*(?:system|instructions?|assistant|im_start|im_end|tool_call|tool_result|"
        r"tool_response|function_results?|function_call|sys|prompt)\s*>",
        r"<\|\s*(?:im_start|im_end|system|user|assistant|end|endoftext|eot_id|start_header_id)",
        r"\[/?(?:inst|system|sys)\]|<</?sys>>|</s>\s*<s>|</s>",
        r"(?:^|\n)\s*#{1,6}\s*(?:system|instruction|new task|assistant)\b",
        r"(?:^|\n)\s*(?:human|assistant)\s*:",
        r"(?:^|\n)\s*\[?system\]?\s*(?:prompt|message|override|note)?\s*:.{0,80}\b(?:you|your|"
        r"assistant|ignore|disregard|override|reveal|new polic\w+|from now on|developer mode|"
        r"priority|obey)\b",
        r"```\s*system\b",
        r"<!--\s*(?:system|assistant|instructions?|ai|prompt)\s*:",
        r"\[(?:assistant|user|system|human)\]\s*:",
        r"[\"']role[\"']\s*:\s*[\"'](?:system|developer)[\"']",
    ),
}

# Instructions addressed to the assistant from inside data: tool output and pasted logs.
DATA_FAMILIES: dict[str, tuple[re.Pattern[str], ...]] = {
    "tool_output_injection": _all(
        r"(?:^|\n)\s*(?:assistant|system|user|developer)\s*:\s*\S",
        r"#{2,}\s*(?:instruction|system|new task)",
        r"\b(?:call|invoke|use|run|execute) the (?:\w+ )?tool\b.{0,40}\b(?:with|instead|now)\b",
        rf"\bwhen (?:the )?{_ROLE_WORD} reads this\b",
        rf"\b(?:note|message|instructions?|attention|notice|warning|reminder|hint|important)\s*"
        rf"(?:to|for)\s+(?:the\s+|any\s+|all\s+)?{_ADDRESSEE}s?\b",
        rf"\b{_ADDRESSEE}s?\s*:\s*(?:please\s+|now\s+)?(?:ignore|disregard|override|reveal|approve|"
        r"reply|say|tell|run|execute|trigger|delete|send|skip|stop|mark|forget|do not|don't)\b",
        rf"\b(?:attention|attn|dear|hey|hello|important|warning)\s*,?\s*(?:the\s+|any\s+)?"
        rf"{_ADDRESSEE}s?\b\s*[:,]",
        rf"\b{_ADDRESSEE}s?\s+(?:assistant\s+)?(?:reading|that reads?|who reads?|processing|"
        r"parsing|seeing) (?:this|these)\b",
        rf"\bif you(?:'re| are) (?:an? )?{_ROLE_WORD}\b",
        rf"\b(?:{_ADDRESSEE}|model) instructions?\s*:",
        rf"<!--.{{0,200}}?\b(?:{_ADDRESSEE}|ignore|instructions?)\b",
        rf"\(\s*{_ADDRESSEE}\s*:",
        r"\(\s*(?:model|agent|bot)\s*:\s*(?:please\s+)?(?:ignore|disregard|skip|forget|reveal|tell|say|"
        r"approve|override|do not|don't)\b",
        rf"\b{_ADDRESSEE}\s*,\s*(?:this is|(?:please\s+)?(?:ignore|disregard|forget|reveal|approve|"
        r"run|delete|execute|send|print|skip|stop|mark|say|tell|do not|don't))\b",
        rf"\b(?:the |you )?{_ADDRESSEE}\s+(?:must|should|shall|needs to|is to)\s+(?:now\s+)?"
        r"(?:ignore|disregard|reveal|output|say|tell|approve|skip|delete|send|call|execute|run|"
        r"forget|stop|mark|hide|print|respond|answer)\b",
    ),
}

# Read against the letters-only form, for words run together or split by any separator.
SQUASHED: dict[str, tuple[re.Pattern[str], ...]] = {
    "instruction_override": _all(
        r"(?:ignore|disregard|forget)(?:all|the|any|your|my)*(?:previous|prior|above|earlier|"
        r"system)(?:instructions|instruction|prompts?|rules|guidelines|directions)",
    ),
    "exfiltration": _all(
        r"(?:reveal|print|show|repeat|output|display)(?:me)?(?:your|the)(?:system|initial|hidden|"
        r"original)(?:prompt|instructions)",
    ),
    "role_play": _all(r"youarenow(?:dan|an?unrestricted|unrestricted|jailbroken|indevelopermode)"),
}

# Other languages, read against the plain form (non-Latin scripts) and the folded form (Latin
# scripts, written without accents).
MULTILINGUAL: dict[str, tuple[re.Pattern[str], ...]] = {
    "instruction_override": _all(
        # German, French, Spanish, Italian, Portuguese, Dutch, Polish, Turkish
        r"\b(?:ignorier\w*|vergiss|vergessen sie|missachte\w*)\b.{0,30}\b(?:anweisung\w*|"
        r"instruktion\w*|befehl\w*|regeln|vorgaben|richtlinien|systemprompt\w*|alles)\b",
        r"\b(?:ignore[rz]?|oublie[rz]?|neglige[rz]?|ne tiens (?:pas|plus) compte)\b.{0,30}\b(?:instructions?|"
        r"consignes?|regles|directives)\b",
        r"\b(?:ignora|ignore|olvida|olvide|omite|descarta)\b.{0,30}\b(?:instrucciones|indicaciones|"
        r"reglas|directrices)\b",
        r"\b(?:ignora|ignorare|dimentica|trascura|ignorate|dimenticate)\b.{0,30}\b(?:istruzioni|regole|"
        r"indicazioni|direttive)\b",
        r"\b(?:ignore|ignora|esqueca|desconsidere)\b.{0,30}\b(?:instrucoes|regras|diretrizes)\b",
        r"\b(?:negeer|vergeet|negeren)\b.{0,30}\b(?:instructies|regels|richtlijnen|opdrachten)\b",
        r"\b(?:zignoruj|zapomnij)\b.{0,30}\b(?:instrukcje|polecenia|zasady)",
        r"\b(?:talimat|kural)\w*\b.{0,20}\b(?:gormezden gel|unut|yok say)",
        r"\b(?:regeln|anweisungen|vorgaben|richtlinien|instruktionen)\b.{0,20}\bgelten nicht mehr\b",
        r"\b(?:desconsidere|esqueca|olvida|olvide|oublie[zr]?|dimentica|vergeet|vergiss|ignora|"
        r"ignore[rz]?)\s+(?:tudo|todo|tout|tutto|alles)\s*(?:o que|lo que|ce qu|quello che|wat|was|"
        r"[.,!]|$)",
        r"\bno (?:sigas|sigues|obedezcas|cumplas)\b.{0,15}\b(?:tus|las) (?:reglas|instrucciones|"
        r"normas|directrices)|\bne (?:suis|respecte) (?:pas|plus) (?:tes|vos|les) (?:regles|"
        r"consignes|instructions)|\bnon seguire (?:le tue|le) (?:regole|istruzioni)|\bnao siga "
        r"(?:suas|as|tuas) (?:regras|instrucoes)|\bbefolge (?:deine|die) (?:regeln|anweisungen) nicht",
        r"(?:不要|别|停止|不必)(?:遵守|遵循|听从|理会)[^。\n]{0,6}(?:规则|指令|指示|设定|限制)",
        r"(?:指示|命令|ルール)[^。\n]{0,10}(?:無効|取り消)|新しい(?:指示|命令)に従",
        # Chinese, Japanese, Korean, Russian
        r"(?:忽略|无视|忘记|忘掉|不要理会|抛开|無視)[^。！？\n]{0,12}(?:指令|指示|说明|规则|提示|设定|要求)",
        r"(?:指示|命令|指令|ルール|設定)[^。\n]{0,10}(?:無視|忘れ)",
        r"(?:이전|모든|위의)[^.\n]{0,10}(?:지시|명령|지침)[^.\n]{0,6}무시",
        r"(?:игнорируй|забудь|проигнорируй|не обращай внимания на|не слушай)\w*\s.{0,30}"
        r"(?:инструкци|указани|правил|команд|промпт)",
    ),
    "exfiltration": _all(
        r"\b(?:anweisungen|instruktionen|regeln|vorgaben)\b.{0,20}\b(?:hast du|wurden dir|hat man dir)\b",
        r"\b(?:zeig\w*|gib|verrat\w*|nenn\w*|offenbar\w*)\b.{0,30}\b(?:system-?prompt\w*|"
        r"systemanweisung\w*|(?:versteckten|geheimen|internen|ursprunglichen) (?:anweisungen|"
        r"regeln|instruktionen))",
        r"\b(?:revele[rz]?|affiche[rz]?|montre[rz]?|donne[- ]moi|dis[- ]moi|divulgue[rz]?)\b.{0,30}"
        r"\b(?:prompt (?:systeme|system)|instructions? (?:cachees?|secretes?|systeme|initiales)|"
        r"consignes (?:cachees|secretes|systeme))",
        r"\b(?:revela|muestra|muestrame|dime|ensename|imprime)\b.{0,30}\b(?:prompt (?:del|de) "
        r"sistema|instrucciones (?:ocultas|secretas|del sistema|iniciales)|indicaciones del sistema)",
        r"\b(?:rivela|mostra|mostrami|dimmi|stampa)\b.{0,30}\b(?:prompt di sistema|istruzioni "
        r"(?:nascoste|segrete|di sistema|iniziali))",
        r"\b(?:revele|mostre|mostra|diga|exiba)\b.{0,30}\b(?:prompt do sistema|instrucoes "
        r"(?:ocultas|secretas|do sistema|iniciais))",
        r"\b(?:toon|laat zien|geef|onthul|vertel)\b.{0,30}\b(?:systeemprompt|systeem prompt|"
        r"verborgen instructies|geheime instructies)",
        r"\b(?:je|jouw|uw) (?:verborgen|geheime) instructies\b",
        r"\b(?:deine[nm]?|ihren?|ton|votre|tes|vos|tu|tus|su|il tuo|i tuoi|seu|suas?|je|jouw|uw) "
        r"(?:system-?prompt\w*|systeemprompt|prompt (?:systeme|del sistema|de sistema|di sistema|do "
        r"sistema)|(?:versteckten|geheimen) anweisungen|instructions (?:cachees|secretes|systeme)|"
        r"instrucciones (?:ocultas|secretas|del sistema)|istruzioni (?:nascoste|segrete)|instrucoes (?:ocultas|"
        r"secretas|do sistema))",
        r"(?:你的|您的)(?:系统提示|系统指令|提示词)|あなたの(?:システムプロンプト|指示)|"
        r"(?:твой|свой|ваш) (?:системный )?промпт",
        r"(?:显示|输出|告诉我|泄露|打印|展示|给我看|重复)[^。\n]{0,10}(?:系统提示|系统指令|提示词|初始指令|隐藏指令)",
        r"(?:初始|原始|隐藏|系统)(?:指令|提示|设定)[^。\n]{0,12}(?:发给我|告诉我|给我|输出|显示)|你收到的",
        r"システムプロンプト[^。\n]{0,10}(?:表示|教え|見せ|出力|公開)|(?:隠された|秘密の)(?:指示|命令)",
        r"시스템 ?프롬프트[^.\n]{0,10}(?:보여|알려|출력)",
        r"(?:покажи|раскрой|выведи|скажи|напиши|повтори)\w*\s.{0,20}(?:системн\w* "
        r"(?:промпт|подсказк|инструкци)|скрыт\w* инструкци)",
    ),
    "role_play": _all(
        r"\bdu bist (?:jetzt|nun|ab sofort|von nun an)\b|\blass uns ein spiel spielen\b",
        r"\b(?:tu es|vous etes) (?:maintenant|desormais|a present)\b",
        r"\b(?:ahora eres|a partir de ahora eres|ahora vas a ser|finge (?:que eres|ser))\b",
        r"\b(?:ora|adesso|da ora in poi) sei\b",
        r"\b(?:agora voce e|a partir de agora voce e)\b",
        r"\b(?:je bent nu|jij bent nu|vanaf nu ben je)\b",
        r"\b(?:fai(?:s|tes) semblant|finge|fingi di|fai finta di|finja|doe alsof|tu so,? als ob)\b",
        r"\b(?:ia|ki|ai)\b.{0,20}\b(?:sans (?:aucune )?(?:regle|restriction|limite|filtre)s?|ohne "
        r"(?:filter|einschrankungen|regeln|zensur)|sin (?:restricciones|reglas|filtros|limites)|senza "
        r"(?:regole|limiti|filtri|restrizioni)|sem (?:restricoes|regras|filtros|limites)|zonder "
        r"(?:beperkingen|regels|filters))\b",
        r"\bantworte ohne (?:filter|einschrankungen|regeln|zensur)\b",
        r"你现在是|从现在开始你是|从现在起你是|你将扮演|扮演一个",
        r"あなたは今から|今からあなたは|あなたはもう|制限のない|ロールプレイ",
        r"너는 이제|당신은 이제",
        r"теперь ты|ты теперь|отныне ты|притворись|представь,? что ты|без (?:правил|ограничений)",
    ),
    "fake_authority": _all(
        r"\bals (?:dein |ihr )?(?:system)?(?:administrator|admin|entwickler)\b.{0,40}"
        r"\b(?:erlaube|autorisiere|befehle|gestatte)\b",
        r"\ben tant qu'?(?:administrateur|admin|developpeur)\b.{0,40}\b(?:autorise|permets|ordonne)",
        r"\bje (?:t'|vous )(?:autorise|ordonne|permets)\b|\bte autorizo\b",
        r"\b(?:ti autorizzo|eu te autorizo|ik geef je toestemming|ich erlaube dir)\b",
        r"\bcome amministratore\b.{0,30}\b(?:autorizzo|permetto|ordino)\b",
    ),
}

# Read against the text as typed (case kept): an upper-case role marker at the start of a line.
CASED: dict[str, tuple[re.Pattern[str], ...]] = {
    "delimiter": _all(r"(?:^|\n)\s*SYSTEM\s*:", r"(?:^|\n)\s*ADMIN(?:ISTRATOR)? OVERRIDE\b"),
}
