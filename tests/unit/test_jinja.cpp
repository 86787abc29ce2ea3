// The Jinja interpreter (src/tokenizer/jinja) feature by feature, each expectation the
// output of Python's jinja2 configured as transformers configures it (trim_blocks,
// lstrip_blocks, loopcontrols, tojson = json.dumps(ensure_ascii=False); one marked
// exception, a tuple printed as a list, is a documented difference): whitespace
// control, literals, Python's str() of values, operators, subscripts and slices, scoping
// of set/for/namespace, macros, filters, tests, string and dict methods, globals, and
// every error message with its line and column. The real model templates are in
// tests/interop/test_jinja_templates.cpp (run by tests/scripts/jinja_templates.sh).
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "tokenizer/jinja/jinja.h"
#include "tokenizer/jinja/pystr.h"

namespace {

using chatforge::Error;
using chatforge::tok::jinja::Json;
using chatforge::tok::jinja::RenderOptions;
using chatforge::tok::jinja::Spans;
using chatforge::tok::jinja::Template;
using chatforge::tok::jinja::TemplateRaisedError;

const Json& ctx() {
  static const Json c = Json::parse(R"({
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "héllo 你好"},
                 {"role": "assistant", "content": "hi"}],
    "d": {"a": 1, "b": [1, 2], "items": "key named items"}, "n": null, "s": "  x y  ", "empty": []})");
  return c;
}

std::string R(const std::string& source, const Json& context = ctx(), const RenderOptions& opt = {}) {
  return Template(source, "t").render(context, opt);
}

// The error message rendering (or parsing) `source` fails with.
std::string E(const std::string& source, const Json& context = ctx(), const RenderOptions& opt = {}) {
  try {
    const std::string out = Template(source, "t").render(context, opt);
    return "(no error; rendered " + Json(out).dump() + ")";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line: " << e.what();
    return e.what();
  }
}

TEST(Jinja, TextAndOutput) {
  EXPECT_EQ(R(""), "");
  EXPECT_EQ(R("plain text"), "plain text");
  EXPECT_EQ(R("{{ 'a' }}\n"), "a");  // one trailing newline of the template is dropped
  EXPECT_EQ(R("x\n\n"), "x\n");
  EXPECT_EQ(R("a\r\nb\rc"), "a\nb\nc");
  EXPECT_EQ(R("{ not a tag } {x}"), "{ not a tag } {x}");
  EXPECT_EQ(R("{{ messages[1].content }}"), "héllo 你好");
}

TEST(Jinja, TrimBlocksAndLstripBlocks) {
  EXPECT_EQ(R("{% if true %}\n  yes\n{% endif %}\n"), "  yes\n");           // newline after %} dropped
  EXPECT_EQ(R("  {% if true %}x{% endif %}  "), "x  ");                     // indent before {% dropped
  EXPECT_EQ(R("a\n    {% if true %}b{% endif %}"), "a\nb");
  EXPECT_EQ(R("a  {% if true %}b{% endif %}"), "a  b");                    // not at a line start: kept
  EXPECT_EQ(R("  {{ 'v' }}\n"), "  v");                                     // {{ }} is not a block
  EXPECT_EQ(R("  {# c #}\nx"), "x");
  EXPECT_EQ(R("{%+ if true %}x{% endif %}"), "x");
  EXPECT_EQ(R("  {%+ if true %}x{% endif +%}\ny"), "  x\ny");               // + keeps both
}

TEST(Jinja, WhitespaceControl) {
  EXPECT_EQ(R("a  {%- if true -%}  b  {%- endif %}  c"), "ab  c");
  EXPECT_EQ(R("x \n {{- ' a ' -}} \n y"), "x a y");
  EXPECT_EQ(R("{#- c -#}  x"), "x");
  EXPECT_EQ(R("a\u3000{{- 'b' }}"), "ab");  // Python's whitespace includes U+3000
}

TEST(Jinja, CommentsAndRaw) {
  EXPECT_EQ(R("a{# {{ not code }} #}b"), "ab");
  EXPECT_EQ(R("{% raw %}{{ x }}{% if %}{% endraw %}"), "{{ x }}{% if %}");
  EXPECT_EQ(R("  {% raw %}\n{{ x }}\n  {% endraw %}\nz"), "\n{{ x }}\nz");
}

TEST(Jinja, Literals) {
  EXPECT_EQ(R(R"({{ "it's" }}|{{ 'a\'b' }}|{{ 'tab\there' }}|{{ 'q"' }})"), "it's|a'b|tab\there|q\"");
  EXPECT_EQ(R(R"({{ '\x41\u00e9\U0001F600\101\q\\' }})"), "Aé😀A\\q\\");
  EXPECT_EQ(R("{{ 'x' 'y' }}"), "xy");
  EXPECT_EQ(R("{{ 1_000 + 0x10 + 0o7 + 0b1 }}|{{ 1.5e2 }}|{{ 2.5 }}|{{ -3 }}"), "1024|150.0|2.5|-3");
  EXPECT_EQ(R("{{ true }}{{ True }}{{ false }}{{ none }}{{ None }}"), "TrueTrueFalseNoneNone");
  EXPECT_EQ(R("{{ [1, 'a', none, true, 1.5, {'k': ['v']}] }}|{{ {'a': 1} }}|{{ [1, 2,] }}"),
            "[1, 'a', None, True, 1.5, {'k': ['v']}]|{'a': 1}|[1, 2]");
}

TEST(Jinja, PythonStr) {
  EXPECT_EQ(R("{{ 1e16 }}|{{ 1/3 }}|{{ 10/2 }}|{{ 1e-5 }}|{{ 0.0001 }}|{{ 123456789012345678.0 }}|{{ -0.0 }}"),
            "1e+16|0.3333333333333333|5.0|1e-05|0.0001|1.2345678901234568e+17|-0.0");
  EXPECT_EQ(R(R"({{ ["it's", "a\nb", 'q"', 'both\'"', '\\'] }})"), R"(["it's", 'a\nb', 'q"', 'both\'"', '\\'])");
  EXPECT_EQ(R("{{ n }}|{{ missing }}|{{ d }}"), "None||{'a': 1, 'b': [1, 2], 'items': 'key named items'}");
}

TEST(Jinja, Operators) {
  EXPECT_EQ(R("{{ 1 + 2 * 3 - 4 / 2 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ -7 % 3 }}|{{ 7 // -2 }}|{{ 10.5 % 3 }}|{{ 2 ** 10 }}"),
            "5.0|3|-4|2|-4|1.5|1024");
  EXPECT_EQ(R("{{ 'ab' * 3 }}|{{ [1] * 2 }}|{{ 3 * 'x' }}|{{ [1] + [2] }}|{{ 'a' + 'b' }}|{{ 2 ** -1 }}"),
            "ababab|[1, 1]|xxx|[1, 2]|ab|0.5");
  EXPECT_EQ(R("{{ 'a' ~ 1 ~ none ~ missing }}|{{ not true }}|{{ 0 or 'x' }}|{{ 1 and 'y' }}|{{ '' or none }}"),
            "a1None|False|x|y|None");
  EXPECT_EQ(R("{{ 1 < 2 < 3 }}{{ 3 > 2 > 5 }}{{ 1 == 1.0 }}{{ 1 == true }}{{ '1' == 1 }}{{ [1, 2] < [1, 3] }}{{ 'a' < 'b' }}"),
            "TrueFalseTrueTrueFalseTrueTrue");
  EXPECT_EQ(R("{{ 'a' in 'abc' }}{{ 'z' not in ['a'] }}{{ 'a' in d }}{{ 2 in d.b }}{{ 'x' in missing }}"),
            "TrueTrueTrueTrueFalse");
  EXPECT_EQ(R("{{ 1 if false else 2 }}|{{ 1 if false }}|{{ 'y' if d.a }}"), "2||y");
  EXPECT_EQ(R("{{ messages|length - 1 }}|{{ -(messages|length) }}|{{ messages|length * 2 }}|{{ -3|abs }}"), "2|-3|6|3");
}

TEST(Jinja, SubscriptsAndSlices) {
  EXPECT_EQ(R("{{ messages[0]['role'] }}{{ messages.0.role }}{{ messages[-1].content }}{{ d['b'][1] }}"),
            "systemsystemhi2");
  EXPECT_EQ(R("{{ [1, 2, 3][::-1] }}|{{ 'abc'[::-1] }}|{{ [1, 2, 3, 4, 5][4:0:-2] }}|{{ 'héllo'[1:3] }}|{{ 'abc'[-2:] }}"),
            "[3, 2, 1]|cba|[5, 3]|él|bc");
  EXPECT_EQ(R("{% for m in messages[::-1] %}{{ m.role[0] }}{% endfor %}|{{ messages[1:]|length }}|{{ [1,2][5:] }}"),
            "aus|2|[]");
  EXPECT_EQ(R("{{ [1, 2][5] }}|{{ [1, 2][5] is defined }}|{{ '你好'[1] }}|{{ [1, 2][true] }}"), "|False|好|2");
}

TEST(Jinja, Attributes) {
  EXPECT_EQ(R("{{ d.a }}|{{ d.missing }}|{{ d.missing is defined }}|{{ d.items is defined }}"), "1||False|True");
  EXPECT_EQ(R("{{ d['items'] }}|{{ d.get('items') }}"), "key named items|key named items");  // [] reads the key
  EXPECT_EQ(R("{{ messages[0].content if messages[0].role == 'system' else 'none' }}"), "Be brief.");
}

TEST(Jinja, IfElifElse) {
  EXPECT_EQ(R("{% if false %}a{% elif n %}b{% elif d %}c{% else %}e{% endif %}"), "c");
  EXPECT_EQ(R("{% if missing %}a{% else %}b{% endif %}{% if [] %}c{% endif %}{% if 0.0 %}d{% endif %}"), "b");
  EXPECT_EQ(R("{% if 'x' %}{% if true %}nested{% endif %}{% endif %}"), "nested");
}

TEST(Jinja, ForLoops) {
  EXPECT_EQ(R("{% for m in messages %}{{ loop.index0 }}{{ loop.index }}{{ loop.first }}{{ loop.last }}{{ loop.length }}"
              "{{ loop.revindex }};{% endfor %}"),
            "01TrueFalse33;12FalseFalse32;23FalseTrue31;");
  EXPECT_EQ(R("{% for x in [1, 2, 3] %}{{ loop.previtem }}-{{ loop.nextitem }},{% endfor %}"), "-2,1-3,2-,");
  EXPECT_EQ(R("{% for x in empty %}a{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(R("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}"), "a=1;b=[1, 2];items=key named items;");
  EXPECT_EQ(R("{% for k in d %}{{ k }}{% endfor %}|{% for c in 'hé' %}[{{ c }}]{% endfor %}|{% for x in missing %}x{% endfor %}"),
            "abitems|[h][é]|");
  EXPECT_EQ(R("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{{ loop.length }}{% endfor %}"), "2242");
  EXPECT_EQ(R("{% for x in [1, 2, 3, 4] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}"
              "{{ x }}{% endfor %}"),
            "13");
  EXPECT_EQ(R("{% for i in [1, 2] %}{% for j in [1] %}{{ loop.index }}{% endfor %}{{ loop.index }}{% endfor %}"), "1112");
}

TEST(Jinja, ScopesAndNamespace) {
  // A set inside a loop lives for one iteration; outside values show through until set.
  EXPECT_EQ(R("{% for i in [1, 2, 3] %}{% if i == 2 %}{{ x }}{% endif %}{% set x = i %}{% endfor %}|{{ x }}"), "|");
  EXPECT_EQ(R("{% set x = 5 %}{% for i in [1, 2] %}[{{ x }}]{% set x = i %}{% endfor %}|{{ x }}"), "[5][5]|5");
  EXPECT_EQ(R("{% set ns = namespace(n=0, found=false) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}"
              "{% if m.role == 'user' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.n }}{{ ns.found }}"),
            "3True");
  EXPECT_EQ(R("{% set ns = namespace(d) %}{{ ns.a }}{% set ns.z = 'new' %}{{ ns.z }}{{ ns.q is defined }}"), "1newFalse");
}

TEST(Jinja, Set) {
  EXPECT_EQ(R("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set (c, e) = [3, 4] %}{{ c }}{{ e }}"), "1234");
  EXPECT_EQ(R("{% set x %}hi {{ 1 }}{% endset %}[{{ x }}]"), "[hi 1]");
  EXPECT_EQ(R("{% set x | upper | replace('I', '!') %}hi{% endset %}{{ x }}"), "H!");
  EXPECT_EQ(R("{% set t = 1, 2 %}{{ t }}"), "[1, 2]");  // a known difference: Python prints a tuple, (1, 2)
}

TEST(Jinja, Macros) {
  EXPECT_EQ(R("{% macro m(a, b='B') %}<{{ a }}{{ b }}>{% endmacro %}{{ m(1) }}{{ m(2, b=3) }}{{ m(a=4) }}"),
            "<1B><23><4B>");
  EXPECT_EQ(R("{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}"), "321");
  EXPECT_EQ(R("{% set top = 'T' %}{% macro m() %}{{ top }}{% set inner = 1 %}{% endmacro %}{{ m() }}{{ inner }}"), "T");
}

TEST(Jinja, Filters) {
  EXPECT_EQ(R("{{ s|trim }}|{{ 'xxhixx'|trim('x') }}|{{ n|trim }}|{{ missing|trim }}|{{ '\u3000a\u00a0'|trim }}"),
            "x y|hi|None||a");
  EXPECT_EQ(R("{{ messages|length }}{{ 'héllo'|length }}{{ d|count }}{{ missing|length }}"), "3530");
  EXPECT_EQ(R("{{ 5|string + 'x' }}|{{ 'ab'|upper }}|{{ 'AB'|lower }}|{{ 'hELLO wORLD'|capitalize }}|"
              "{{ 'hello world-foo (bar'|title }}"),
            "5x|AB|ab|Hello world|Hello World-Foo (Bar");
  EXPECT_EQ(R("{{ [1, 2]|first }}{{ [1, 2]|last }}{{ []|first }}{{ 'abc'|first }}{{ 'abc'|last }}"), "12ac");
  EXPECT_EQ(R("{{ [1, 'a', none]|join(', ') }}|{{ messages|join('-', attribute='role') }}|{{ 'abc'|join('.') }}"),
            "1, a, None|system-user-assistant|a.b.c");
  EXPECT_EQ(R("{{ missing|default('d') }}|{{ ''|default('d', true) }}|{{ none|default('d') }}|{{ 0|d(5, boolean=true) }}"),
            "d|d|None|5");
  EXPECT_EQ(R("{% for k, v in d|items %}{{ k }}{{ v }};{% endfor %}|{{ 'ab'|list }}|{{ d|list }}|{{ missing|items|list }}"),
            "a1;b[1, 2];itemskey named items;|['a', 'b']|['a', 'b', 'items']|[]");
  EXPECT_EQ(R("{{ 'aaa'|replace('a', 'b') }}{{ 'aaa'|replace('a', 'b', 2) }}"), "bbbbba");
  EXPECT_EQ(R("{{ '42'|int + 1 }}|{{ '4.7'|int }}|{{ 'x'|int(7) }}|{{ 3.9|int }}|{{ ' 0x1A '|int(0, 16) }}|{{ '1e3'|float }}|{{ 'q'|float }}"),
            "43|4|7|3|26|1000.0|0.0");
  EXPECT_EQ(R("{{ -3|abs }}{{ (0 - 2.5)|abs }}|{{ '<a href=\"x\">'|e }}|{{ '<b>'|safe }}"), "32.5|&lt;a href=&#34;x&#34;&gt;|<b>");
  EXPECT_EQ(R("{{ messages|map(attribute='role')|list }}|{{ ['a', 'b']|map('upper')|join }}|{{ messages|map(attribute='x', default='-')|join }}"),
            "['system', 'user', 'assistant']|AB|---");
  EXPECT_EQ(R("{{ messages|selectattr('role', 'equalto', 'user')|list|length }}|{{ messages|rejectattr('role', 'in', ['user'])|map(attribute='role')|join(',') }}"),
            "1|system,assistant");
  EXPECT_EQ(R("{{ [1, 0, 2]|select|list }}|{{ [1, 2, 3]|reject('odd')|list }}|{{ [1, 2, 3, 4]|select('divisibleby', 2)|list }}"),
            "[1, 2]|[2]|[2, 4]");
  EXPECT_EQ(R("{{ [3, 1, 2]|sort }}{{ ['b', 'A', 'a']|sort }}{{ [3, 1]|sort(reverse=true) }}{{ ['a', 'A', 'b']|unique|list }}"
              "{{ [1, 2]|reverse|list }}{{ 'abc'|reverse }}"),
            "[1, 2, 3]['A', 'a', 'b'][3, 1]['a', 'b'][2, 1]cba");
}

TEST(Jinja, ToJson) {
  const Json c = Json::parse(R"({"x": {"a": "é😀", "b": [1, 2.0, null, true, 1e100], "c": {"q": "\"\\\n\t\u0001\u007f"}, "e": {}}})");
  EXPECT_EQ(R("{{ x|tojson }}", c),
            R"({"a": "é😀", "b": [1, 2.0, null, true, 1e+100], "c": {"q": "\"\\\n\t\u0001)" "\x7f" R"("}, "e": {}})");
  EXPECT_EQ(R("{{ {'a': [1, {'b': 2}], 'e': {}, 'l': []}|tojson(indent=2) }}"),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": 2\n    }\n  ],\n  \"e\": {},\n  \"l\": []\n}");
  EXPECT_EQ(R("{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}|{{ [1, 2]|tojson(separators=[',', ':']) }}|{{ 'é'|tojson(true) }}"),
            R"({"a": 2, "b": 1}|[1,2]|"\u00e9")");
  EXPECT_EQ(R("{{ {'a': 1}|tojson(indent='\t') }}"), "{\n\t\"a\": 1\n}");
  EXPECT_EQ(R("{{ 'x'|tojson }}{{ 3|tojson }}{{ none|tojson }}{{ (1/3)|tojson }}"), "\"x\"3null0.3333333333333333");
}

TEST(Jinja, Tests) {
  EXPECT_EQ(R("{{ missing is defined }}{{ d is defined }}{{ missing is undefined }}{{ n is none }}{{ d.a is not none }}"),
            "FalseTrueTrueTrueTrue");
  EXPECT_EQ(R("{{ 'a' is string }}{{ 1 is string }}{{ d is mapping }}{{ [] is mapping }}{{ [] is iterable }}"
              "{{ 'x' is iterable }}{{ 1 is iterable }}{{ 'x' is sequence }}"),
            "TrueFalseTrueFalseTrueTrueFalseTrue");
  EXPECT_EQ(R("{{ true is boolean }}{{ false is false }}{{ 0 is false }}{{ true is true }}{{ 1 is integer }}{{ true is integer }}"
              "{{ 1.0 is float }}{{ true is number }}{{ 'x' is number }}"),
            "TrueTrueFalseTrueTrueFalseTrueTrueFalse");
  EXPECT_EQ(R("{{ 3 is odd }}{{ 3 is even }}{{ 6 is divisibleby 3 }}{{ 6 is divisibleby(4) }}{{ 1 is eq 1 }}{{ 1 is ne 1 }}"
              "{{ 1 is lt 2 }}{{ 2 is ge 3 }}{{ 'a' is in 'abc' }}{{ 'abc' is lower }}{{ 'AB' is upper }}{{ n is sameas none }}"),
            "TrueFalseTrueFalseTrueFalseTrueFalseTrueTrueTrueTrue");
  EXPECT_EQ(R("{{ 'a' is string and 1 is not string }}{{ not missing is defined }}{{ 1 is number or x }}"), "TrueTrueTrue");
}

TEST(Jinja, StringAndDictMethods) {
  EXPECT_EQ(R("{{ 'Hello'.startswith('He') }}{{ 'Hello'.endswith(('x', 'lo')) }}{{ 'Hello'.startswith('l', 2) }}"),
            "TrueTrueTrue");
  EXPECT_EQ(R("{{ 'a,b,,c'.split(',') }}{{ '  a  b '.split() }}{{ 'a,b,c'.split(',', 1) }}{{ 'a,b,c'.rsplit(',', 1) }}"),
            "['a', 'b', '', 'c']['a', 'b']['a', 'b,c']['a,b', 'c']");
  EXPECT_EQ(R("[{{ ' x '.strip() }}][{{ 'xxa'.lstrip('x') }}][{{ '\n\n  a'.lstrip('\n') }}][{{ 'a \n\n'.rstrip('\n') }}]"
              "[{{ '\u3000a\u00a0'.strip() }}]"),
            "[x][a][  a][a ][a]");
  EXPECT_EQ(R("{{ 'ab'.upper() }}{{ 'AB'.lower() }}{{ 'ß'.upper() }}{{ \"they're bill's\".title() }}{{ 'hI'.capitalize() }}"),
            "ABabSSThey'Re Bill'SHi");
  EXPECT_EQ(R("{{ 'a-b-c'.replace('-', '+') }}{{ 'a-b-c'.replace('-', '', 1) }}{{ 'héllo'.find('l') }}{{ 'abc'.find('z') }}"
              "{{ 'aXbX'.count('X') }}{{ ', '.join(['a', 'b']) }}"),
            "a+b+cab-c2-12a, b");
  EXPECT_EQ(R("{{ '{} and {x} {{}}'.format(1, x=2) }}|{{ '12'.isdigit() }}{{ 'ab'.isalpha() }}{{ ' '.isspace() }}"),
            "1 and 2 {}|TrueTrueTrue");
  EXPECT_EQ(R("{{ 'abc'.removeprefix('a') }}{{ 'abc'.removesuffix('c') }}{{ 'abc'.removeprefix('x') }}"), "bcababc");
  EXPECT_EQ(R("{{ d.get('a') }}{{ d.get('z') }}{{ d.get('z', 2) }}{{ d.keys()|list }}{{ d.values()|list|length }}"
              "{{ d.items()|list|length }}"),
            "1None2['a', 'b', 'items']33");
  EXPECT_EQ(R("{{ messages[1].content.split(' ')[-1] }}{{ messages[0].content.split('</think>')[0].rstrip('.') }}"),
            "你好Be brief");
}

TEST(Jinja, Globals) {
  EXPECT_EQ(R("{{ range(3)|list }}{{ range(1, 7, 2)|list }}{{ range(3, 0, -1)|list }}{{ range(0)|list }}"),
            "[0, 1, 2][1, 3, 5][3, 2, 1][]");
  EXPECT_EQ(R("{{ dict(a=1, b='x') }}{{ namespace(a=1).a }}"), "{'a': 1, 'b': 'x'}1");
  RenderOptions opt;
  std::tm tm{};
  tm.tm_year = 2024 - 1900;
  tm.tm_mon = 6;
  tm.tm_mday = 26;
  opt.now = tm;
  EXPECT_EQ(R("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d') }}", ctx(), opt), "26 Jul 2024|2024-07-26");
  EXPECT_EQ(R("{{ strftime_now('%Y')|length }}"), "4");  // the real clock
  try {
    R("line one\n{{ raise_exception('Conversation roles must alternate user/assistant') }}");
    FAIL() << "no error";
  } catch (const TemplateRaisedError& e) {
    EXPECT_EQ(e.message(), "Conversation roles must alternate user/assistant");
    EXPECT_STREQ(e.what(), "t line 2: the template raised an error: Conversation roles must alternate user/assistant");
  }
}

TEST(Jinja, GenerationBlocks) {
  const Template t("{% for m in messages %}<{{ m.role }}>{% if m.role == 'assistant' %}{% generation %}{{ m.content }}"
                   "</s>{% endgeneration %}{% endif %}{% endfor %}");
  EXPECT_TRUE(t.has_generation_blocks());
  Spans spans;
  const std::string out = t.render(ctx(), {}, &spans);
  EXPECT_EQ(out, "<system><user><assistant>hi</s>");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(out.substr(spans[0].first, spans[0].second - spans[0].first), "hi</s>");
  EXPECT_FALSE(Template("{{ 1 }}").has_generation_blocks());
}

TEST(Jinja, SyntaxErrorsNameLineAndColumn) {
  EXPECT_EQ(E("a\n{{ x|wordwrap }}"), "t line 2, column 6: unknown filter 'wordwrap' (docs/chat-templates.md)");
  EXPECT_EQ(E("{{ x is frobbed }}"), "t line 1, column 9: unknown test 'frobbed' (docs/chat-templates.md)");
  EXPECT_EQ(E("{% extends 'base.html' %}"), "t line 1, column 4: unsupported statement '{% extends %}' (docs/chat-templates.md)");
  EXPECT_EQ(E("{% include 'x' %}"), "t line 1, column 4: unsupported statement '{% include %}' (docs/chat-templates.md)");
  EXPECT_EQ(E("{% frob %}"), "t line 1, column 4: unknown statement '{% frob %}'");
  EXPECT_EQ(E("\n  {% for m in messages %}x"),
            "t line 2, column 6: the '{% for %}' here is never closed: expected '{% endfor %}' before the end of the template");
  EXPECT_EQ(E("{% if x %}{% endfor %}"), "t line 1, column 14: unexpected '{% endfor %}' with no open block it could close");
  EXPECT_EQ(E("{% endif %}"), "t line 1, column 4: unexpected '{% endif %}' with no open block it could close");
  EXPECT_EQ(E("{{ 'abc }}"), "t line 1, column 4: unterminated string literal");
  EXPECT_EQ(E("{{ a ? b }}"), "t line 1, column 6: unexpected character '?' inside a tag");
  EXPECT_EQ(E("x {# never closed"), "t line 1, column 3: missing end of comment tag '#}'");
  EXPECT_EQ(E("{{ (1 + 2 }}"), "t line 1, column 11: unexpected '}', expected ')'");
  EXPECT_EQ(E("{{ 1 + 2"), "t line 1, column 1: unexpected end of template: this tag has no closing '}}'");
  EXPECT_EQ(E("{{ 1 + 2) }}"), "t line 1, column 9: unexpected ')'");
  EXPECT_EQ(E("{{ [1, 2) }}"), "t line 1, column 9: unexpected ')', expected ']'");
  EXPECT_EQ(E("{% break %}"), "t line 1, column 4: '{% break %}' outside a for loop");
  EXPECT_EQ(E("{% for x in y recursive %}{% endfor %}"), "t line 1, column 15: unsupported: recursive for loops");
  EXPECT_EQ(E("{{ f(*args) }}"), "t line 1, column 6: unsupported: *args and **kwargs in calls");
  EXPECT_EQ(E("{{ }}"), "t line 1, column 4: expected an expression, got end of expression '}}'");
  EXPECT_EQ(E("{{ 1 + }}"), "t line 1, column 8: unexpected end of expression '}}' where an expression should be");
  EXPECT_EQ(E("{% if %}{% endif %}"), "t line 1, column 7: expected an expression, got end of statement '%}'");
  EXPECT_EQ(E("{% set true = 1 %}"), "t line 1, column 8: cannot assign to 'true'");
  EXPECT_EQ(E("{% set x.y %}{% endset %}"), "t line 1, column 12: expected '=' in the set statement, got end of statement '%}'");
  EXPECT_EQ(E("{% raw %}never closed"), "t line 1, column 1: missing '{% endraw %}' for this '{% raw %}'");
  EXPECT_EQ(E("{{ '\\x4' }}"), "t line 1, column 4: truncated \\x escape in a string literal (it needs 2 hex digits)");
  EXPECT_EQ(E("{{ 012 }}"), "t line 1, column 4: integer literal 012 has a leading zero");
  EXPECT_EQ(E("{{ 99999999999999999999 }}"), "t line 1, column 4: integer literal 99999999999999999999 is too large");
  EXPECT_EQ(E("{{ x[1, 2] }}"), "t line 1, column 7: unsupported: a tuple as a subscript (x[a, b])");
  EXPECT_EQ(E("{{ a is defined is c }}"), "t line 1, column 17: tests cannot be chained ('x is a is b')");
  EXPECT_EQ(E("{{ -messages|length }}"), "t line 1, column 4: bad operand type for unary -: 'list'");  // (-messages)|length
  EXPECT_NE(E("{{ " + std::string(300, '(') + "1" + std::string(300, ')') + " }}").find("nested more than 200 levels deep"),
            std::string::npos);
  std::string deep_blocks;
  for (int i = 0; i < 300; ++i) deep_blocks += "{% if true %}";
  EXPECT_NE(E(deep_blocks).find("nested more than 200 levels deep"), std::string::npos);
}

TEST(Jinja, RuntimeErrorsNameLineAndColumn) {
  EXPECT_EQ(E("{{ missing.attr }}"), "t line 1, column 11: 'missing' is undefined");
  EXPECT_EQ(E("\n\n{{ d.nope.deeper }}"), "t line 3, column 10: 'dict object' has no attribute 'nope'");
  EXPECT_EQ(E("{{ messages[7].role }}"), "t line 1, column 15: 'list object' has no element 7");
  EXPECT_EQ(E("{{ 'a' + 1 }}"), "t line 1, column 8: unsupported operand types for +: 'str' and 'int'");
  EXPECT_EQ(E("{{ missing + 1 }}"), "t line 1, column 12: 'missing' is undefined");
  EXPECT_EQ(E("{{ '</think>' in n }}"), "t line 1, column 4: argument of type 'NoneType' is not iterable (in 'in')");
  EXPECT_EQ(E("{{ 1 < 'a' }}"), "t line 1, column 4: '<' is not supported between int and str");
  EXPECT_EQ(E("{{ 1 / 0 }}"), "t line 1, column 6: division by zero");
  EXPECT_EQ(E("{{ 1 // 0 }}"), "t line 1, column 6: integer division by zero");
  EXPECT_EQ(E("{{ 9223372036854775807 + 1 }}"), "t line 1, column 24: integer overflow in '+' (beyond 64 bits)");
  EXPECT_EQ(E("{{ n|length }}"), "t line 1, column 6: object of type 'NoneType' has no length");
  EXPECT_EQ(E("{{ missing|tojson }}"), "t line 1, column 12: tojson: 'missing' is undefined");
  EXPECT_EQ(E("{{ nothing() }}"), "t line 1, column 11: 'nothing' is undefined");
  EXPECT_EQ(E("{{ d.a() }}"), "t line 1, column 7: 'int' object is not callable");
  EXPECT_EQ(E("{% for x in 5 %}{% endfor %}"), "t line 1, column 13: 'int' object is not iterable");
  EXPECT_EQ(E("{% set x = 1 %}{% set x.y = 2 %}"), "t line 1, column 19: cannot set 'x.y': 'x' is not a namespace()");
  EXPECT_EQ(E("{% set a, b = [1] %}"), "t line 1, column 4: cannot unpack 1 values into 2 names");
  EXPECT_EQ(E("{{ 'a'.split('') }}"), "t line 1, column 13: split(): empty separator");
  EXPECT_EQ(E("{{ 'a'.startswith(1) }}"), "t line 1, column 18: startswith(): prefix must be a string, not 'int'");
  EXPECT_EQ(E("{{ 'x'.zfill(3) }}"), "t line 1, column 13: unsupported: the str method 'zfill' (docs/chat-templates.md)");
  EXPECT_EQ(E("{{ messages.append(1) }}"), "t line 1, column 19: unsupported: the list method 'append' (docs/chat-templates.md)");
  EXPECT_EQ(E("{{ 'x'.nonsense() }}"), "t line 1, column 16: 'str object' has no attribute 'nonsense'");
  EXPECT_EQ(E("{{ d.get() }}"), "t line 1, column 9: get() needs a key");
  EXPECT_EQ(E("{{ 'x'|trim(1, 2) }}"), "t line 1, column 8: trim() takes at most 1 argument (2 given)");
  EXPECT_EQ(E("{{ 'x'|replace('a', 'b', cnt=1) }}"), "t line 1, column 8: replace() got an unexpected keyword argument 'cnt'");
  EXPECT_EQ(E("{{ [1][::0] }}"), "t line 1, column 8: slice step cannot be zero");
  EXPECT_EQ(E("{{ range(200000)|length }}"), "t line 1, column 9: range() larger than 100000 items");
  EXPECT_EQ(E("{{ '%s' % 1 }}"), "t line 1, column 9: unsupported: string formatting with '%' (use ~ or format())");
  EXPECT_EQ(E("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}"), "t line 1, column 35: macro 'm' takes 1 arguments, 2 given");
  EXPECT_EQ(E("{% macro m(a) %}{% endmacro %}{{ m(b=2) }}"), "t line 1, column 35: macro 'm' has no parameter 'b'");
  EXPECT_EQ(E("{{ [missing] }}"), "t line 1, column 5: 'missing' is undefined");
  EXPECT_EQ(E("{{ {1: 2} }}"), "t line 1, column 5: dict keys must be strings here, not 'int'");
}

TEST(Jinja, WorkIsBounded) {
  RenderOptions small;
  small.limits.max_steps = 10000;
  EXPECT_EQ(E("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", ctx(), small),
            "t line 1, column 32: the template did more than 10000 steps of work (an endless loop?)");
  small.limits.max_output = 1000;
  EXPECT_EQ(E("{{ 'x' * 2000 }}", ctx(), small), "t line 1, column 8: '*' would build a value larger than the limit of 1000 bytes");
  EXPECT_EQ(E("{% for i in range(100) %}{{ 'abcdefghijklmnop' }}{% endfor %}", ctx(), small),
            "t line 1, column 26: the output grew past the limit of 1000 bytes");
  EXPECT_EQ(E("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"),
            "t line 1, column 20: macro calls nested deeper than 64 (endless recursion?)");
}

TEST(Jinja, PythonStringHelpers) {
  namespace py = chatforge::tok::jinja::py;
  EXPECT_EQ(py::float_repr(1.0), "1.0");
  EXPECT_EQ(py::float_repr(1e15), "1000000000000000.0");
  EXPECT_EQ(py::float_repr(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(py::repr("a'b"), "\"a'b\"");
  EXPECT_EQ(py::repr("\x01é\u200b"), "'\\x01é\\u200b'");
  EXPECT_EQ(py::split("a b", std::nullopt, -1), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(py::rsplit("  a b  c ", std::nullopt, 1), (std::vector<std::string>{"  a b", "c"}));
  EXPECT_EQ(py::replace("ab", "", "-", -1), "-a-b-");
  EXPECT_EQ(py::char_count("a\xff" "b"), 3u);  // a stray byte is one character
}

}  // namespace
