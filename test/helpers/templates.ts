// Chat templates the tests render that no synthetic checkpoint carries.

/** GLM-4-0414's layout (tools described by the template, a call as an assistant turn with metadata, results as observations). */
export const GLM4_0414_LAYOUT = [
    '[gMASK]<sop>{%- if tools -%}<|system|>\n# Tools\n{% for tool in tools %}{%- set function = tool.function if tool.get("function") else tool %}',
    "\n\n## {{ function.name }}\n\n{{ function | tojson(indent=4) }}\nCall it with JSON arguments.{%- endfor %}{%- endif -%}",
    "{%- for msg in messages %}{%- if msg.role == 'system' %}<|system|>\n{{ msg.content }}{%- endif %}{%- endfor %}",
    '{%- for message in messages if message.role != \'system\' %}{%- set meta = message.get("metadata", "") %}',
    "{%- if message.role == 'user' %}<|user|>\n{{ message.content }}",
    "{%- elif message.role == 'assistant' and not meta %}<|assistant|>\n{{ message.content }}",
    "{%- elif message.role == 'assistant' and meta %}<|assistant|>{{ meta }}\n{{ message.content }}",
    "{%- elif message.role == 'observation' %}<|observation|>\n{{ message.content }}{%- endif %}{%- endfor %}",
    "{% if add_generation_prompt %}<|assistant|>{% endif %}",
].join("");
