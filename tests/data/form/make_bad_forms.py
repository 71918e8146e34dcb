# Writes tests/data/form/bad/*.xml and bad/cases.tsv: python3 make_bad_forms.py bad
# (The files are kept in the tree and reviewed; rerun this after changing a case here.)
import os, sys
OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)

LEAFLET = '''<?xml version="1.0" encoding="UTF-8"?>
<!-- WHAT -->
<form id="ID" version="1.0" kind="leaflet" xml:lang="zh-Hant-HK">
  <meta>
    <title>測試單張</title>
    <status state="draft"/>
  </meta>
  <label caption="Patient's Label">
    <label-field key="patient_name" caption="Patient Name" required="true"/>
    <label-field key="hospital_no" caption="Hospital No" required="true"/>
  </label>
  <fields>
    <field key="side" type="choice" caption="部位">
      <option key="left">左側</option>
      <option key="right">右側</option>
    </field>
    <field key="doctor_name" type="text" caption="主診醫生"/>
  </fields>
  <risk-bands>
    <band frequency="common" caption="常見風險"/>
  </risk-bands>
  <body>
    <section id="intro" title="簡介">
      <p>本單張介紹注射治療。</p>
      <risks>
        <risk frequency="common">注射部位疼痛</risk>
      </risks>
    </section>
  </body>
</form>
'''

CONSENT = '''<?xml version="1.0" encoding="UTF-8"?>
<!-- WHAT -->
<form id="ID" version="1.0" kind="consent" xml:lang="zh-Hant-TW">
  <meta>
    <title>測試同意書</title>
    <status state="draft"/>
  </meta>
  <label caption="病人標籤">
    <label-field key="patient_name" caption="病人姓名" required="true"/>
  </label>
  <risk-bands>
    <band frequency="common" caption="常見"/>
  </risk-bands>
  <body>
    <section id="risks" title="風險">
      <risks>
        <risk frequency="common">注射部位疼痛</risk>
      </risks>
    </section>
    <section id="alternatives" title="其他治療方式">
      <p>物理治療。</p>
    </section>
    <section role="signing">
      <declarations>
        <li>我同意接受治療。</li>
      </declarations>
      <signatures>
        <signature role="patient" caption="病人簽署" sign="簽名" date="日期"/>
        <signature role="doctor" caption="醫師簽署" sign="簽名" date="日期"/>
      </signatures>
    </section>
  </body>
</form>
'''

# name, base, what, edits [(old, new)], status, phrase, schema ("invalid": the schema alone
# rejects it; "valid": only the semantic checks do; "-": not for the schema test)
CASES = [
 ("unknown-element", LEAFLET, "an unknown element inside a section (a schema error)",
  [("<p>本單張介紹注射治療。</p>", "<p>本單張介紹注射治療。</p>\n      <foo>x</foo>@@")],
  "DATA", "unknown element <foo> inside <section>", "invalid"),
 ("misplaced-element", LEAFLET, "<li> directly inside a section",
  [("<p>本單張介紹注射治療。</p>", "<li>一項</li>@@")],
  "DATA", "<li> is not allowed inside <section> (it belongs in <ul>, <ol>, <instructions> or <declarations>)", "invalid"),
 ("unknown-frequency", LEAFLET, "a risk with a frequency that is not one of the six",
  [('<risk frequency="common">', '<risk frequency="often">@@')],
  "DATA", 'risk has frequency "often"; use one of very-common, common, uncommon, rare, very-rare, unknown', "invalid"),
 ("missing-attribute", CONSENT, "a signature without its sign caption",
  [('<signature role="doctor" caption="醫師簽署" sign="簽名" date="日期"/>', '<signature role="doctor" caption="醫師簽署" date="日期"/>@@')],
  "DATA", 'signature is missing the required attribute "sign"', "invalid"),
 ("unknown-attribute", LEAFLET, "an attribute the element does not take",
  [('<section id="intro" title="簡介">', '<section id="intro" title="簡介" colour="red">@@')],
  "DATA", 'section does not take an attribute "colour" (it takes id, title, role)', "invalid"),
 ("bad-id", LEAFLET, "a section id with upper-case letters",
  [('<section id="intro"', '<section id="Intro"@@')],
  "DATA", 'section has id "Intro"; an id is lower-case letters, digits and "-"', "invalid"),
 ("bad-key", LEAFLET, "a field key with a dash",
  [('<field key="doctor_name"', '<field key="doctor-name"@@')],
  "DATA", 'field has key "doctor-name"; a key is a lower-case letter followed by lower-case letters, digits or "_"', "invalid"),
 ("bad-version", LEAFLET, "a version that is not digits and dots",
  [('version="1.0" kind', 'version="v1" kind'), ('kind="leaflet"', 'kind="leaflet"@@')],
  "DATA", 'form has version "v1"; a version is digits and dots', "invalid"),
 ("bad-date-shape", LEAFLET, "an approval date not written YYYY-MM-DD",
  [('<status state="draft"/>', '<status state="approved" by="Dr Chan" date="2024-5-1"/>@@')],
  "DATA", 'status has date "2024-5-1"; write a date as YYYY-MM-DD', "invalid"),
 ("bad-boolean", LEAFLET, "required=\"yes\"",
  [('<label-field key="hospital_no" caption="Hospital No" required="true"/>', '<label-field key="hospital_no" caption="Hospital No" required="yes"/>@@')],
  "DATA", 'label-field has required "yes"; use one of true, false', "invalid"),
 ("bad-lang", LEAFLET, "a form language other than zh-Hant-HK / zh-Hant-TW",
  [('xml:lang="zh-Hant-HK">', 'xml:lang="zh-Hans-CN">@@')],
  "DATA", 'form has xml:lang "zh-Hans-CN"; use one of zh-Hant-HK, zh-Hant-TW', "invalid"),
 ("empty-caption", LEAFLET, "a caption of spaces only",
  [('<label caption="Patient\'s Label">', '<label caption="   ">@@')],
  "DATA", "label has an empty caption", "invalid"),
 ("text-in-section", LEAFLET, "text directly inside a section",
  [("<p>本單張介紹注射治療。</p>", "<p>本單張介紹注射治療。</p>\n      一段沒有 p 的文字@@")],
  "DATA", 'is not allowed directly inside <section>; put it in a <p>', "invalid"),
 ("nested-bold", LEAFLET, "<b> inside <b>",
  [("<p>本單張介紹注射治療。</p>", "<p>本單張<b>介紹<b>注射</b>@@</b>治療。</p>")],
  "DATA", "<b> inside <b>: bold text does not nest", "invalid"),
 ("element-in-text", LEAFLET, "a <ul> inside a paragraph",
  [("<p>本單張介紹注射治療。</p>", "<p>本單張\n        <ul><li>x</li></ul>@@\n      </p>")],
  "DATA", "<ul> is not allowed inside <p>; text there may hold only <b> and <field ref=", "invalid"),
 ("empty-paragraph", LEAFLET, "a paragraph with nothing but whitespace",
  [("<p>本單張介紹注射治療。</p>", "<p>   </p>@@")],
  "DATA", "<p> is empty; write its text or remove it", "valid"),
 ("out-of-order", LEAFLET, "<label> after <fields>",
  [('  <label caption="Patient\'s Label">\n    <label-field key="patient_name" caption="Patient Name" required="true"/>\n    <label-field key="hospital_no" caption="Hospital No" required="true"/>\n  </label>\n', ''),
   ('  <risk-bands>', '  <label caption="Patient\'s Label">@@\n    <label-field key="patient_name" caption="Patient Name" required="true"/>\n  </label>\n  <risk-bands>')],
  "DATA", "<label> is out of order: <form> holds <meta>, <label>, <fields>, <risk-bands>, <layout> and <body> in that order", "invalid"),
 ("duplicate-title", LEAFLET, "two titles in <meta>",
  [("<title>測試單張</title>", "<title>測試單張</title>\n    <title>又一個</title>@@")],
  "DATA", "<title> is given twice in <meta> (first on line 5)", "invalid"),
 ("no-status", LEAFLET, "<meta> without <status>",
  [('  <meta>\n', '  <meta>@@\n'), ('    <status state="draft"/>\n', '')],
  "DATA", "<meta> has no <status>", "invalid"),
 ("draft-with-approver", LEAFLET, "a draft that names an approver",
  [('<status state="draft"/>', '<status state="draft" by="Dr Chan"/>@@')],
  "DATA", 'status is "draft" but names by; only an approved form has by and date', "invalid"),
 ("namespace", LEAFLET, "elements in a namespace",
  [('<form id="ID"', '<form xmlns="urn:example:forms" id="ID"'), ('xml:lang="zh-Hant-HK">', 'xml:lang="zh-Hant-HK">@@')],
  "DATA", 'is in the namespace "urn:example:forms"; form elements have no namespace', "invalid"),
 ("wrong-root", LEAFLET, "a root element other than <form>",
  [('<form id="ID" version="1.0" kind="leaflet" xml:lang="zh-Hant-HK">', '<leaflet id="ID" version="1.0" kind="leaflet" xml:lang="zh-Hant-HK">@@'), ('</form>', '</leaflet>')],
  "DATA", "the root element is <leaflet>; a form's root element is <form>", "invalid"),
 ("ragged-table", LEAFLET, "a table row with fewer cells than the first",
  [("<p>本單張介紹注射治療。</p>", "<table>\n        <row><cell>a</cell><cell>b</cell></row>\n        <row><cell>c</cell></row>@@\n      </table>")],
  "DATA", "this row has 1 cells but the table's first row (line 25) has 2", "valid"),
 ("table-widths", LEAFLET, "three column widths for a two-column table",
  [("<p>本單張介紹注射治療。</p>", "<table>@@\n        <col width=\"1\"/><col width=\"1\"/><col width=\"2\"/>\n        <row><cell>a</cell><cell>b</cell></row>\n      </table>")],
  "DATA", "the table gives 3 <col> widths but has 2 columns", "valid"),
 ("duplicate-id", LEAFLET, "two sections with the same id",
  [("    </section>\n  </body>", "    </section>\n    <section id=\"intro\">@@\n      <p>重複。</p>\n    </section>\n  </body>")],
  "DATA", 'section id "intro" is used twice (first on line 23)', "valid"),
 ("duplicate-key", LEAFLET, "a fill-in field with the key of a label field",
  [('<field key="doctor_name" type="text" caption="主診醫生"/>', '<field key="doctor_name" type="text" caption="主診醫生"/>\n    <field key="hospital_no" type="text" caption="病歷號碼"/>@@')],
  "DATA", 'field key "hospital_no" is used twice (first on line 10)', "valid"),
 ("duplicate-option", LEAFLET, "two options with the same key",
  [('<option key="right">右側</option>', '<option key="left">右側</option>@@')],
  "DATA", 'option key "left" is used twice (first on line 14); option keys are unique within a field', "valid"),
 ("checkboxes-missing-field", LEAFLET, "check boxes bound to a field that is not declared",
  [("<p>本單張介紹注射治療。</p>", "<p>本單張介紹注射治療。</p>\n      <checkboxes field=\"procedure\"/>@@")],
  "DATA", 'checkboxes field="procedure" names no declared field', "valid"),
 ("checkboxes-text-field", LEAFLET, "check boxes bound to a text field",
  [("<p>本單張介紹注射治療。</p>", "<p>本單張介紹注射治療。</p>\n      <checkboxes field=\"doctor_name\"/>@@")],
  "DATA", 'checkboxes field="doctor_name" names a text field; check boxes need a choice or multi-choice field', "valid"),
 ("field-ref-missing", LEAFLET, "a <field ref> to an undeclared field",
  [("<p>本單張介紹注射治療。</p>", "<p>主診醫生：<field ref=\"surgeon\"/></p>@@")],
  "DATA", '<field ref="surgeon"/> names no declared field', "valid"),
 ("applies-to-missing", LEAFLET, "a risk applying to an option that does not exist",
  [('<risk frequency="common">', '<risk frequency="common" applies-to="prp">@@')],
  "DATA", 'risk applies-to="prp" names no option of a choice or multi-choice field', "valid"),
 ("cites-missing", LEAFLET, "a risk citing a reference id the form does not have",
  [('<risk frequency="common">', '<risk frequency="common" cites="yuan2009">@@')],
  "DATA", 'risk cites "yuan2009", which is not the id of a <ref> in the form\'s references', "valid"),
 ("note-applies-to-missing", LEAFLET, "a note applying to an option that does not exist",
  [("<p>本單張介紹注射治療。</p>", "<p>本單張介紹注射治療。</p>\n      <note applies-to=\"prp\">@@<p>注意。</p></note>")],
  "DATA", 'note applies-to="prp" names no option of a choice or multi-choice field', "valid"),
 ("instruction-applies-to-missing", LEAFLET, "an instruction applying to an option that does not exist",
  [("<p>本單張介紹注射治療。</p>", "<p>本單張介紹注射治療。</p>\n      <instructions when=\"after\">\n        <li applies-to=\"prp\">休息。</li>@@\n      </instructions>")],
  "DATA", 'instruction applies-to="prp" names no option of a choice or multi-choice field', "valid"),
 ("options-on-text", LEAFLET, "a text field with options",
  [('<field key="doctor_name" type="text" caption="主診醫生"/>', '<field key="doctor_name" type="text" caption="主診醫生">@@\n      <option key="a">甲</option>\n      <option key="b">乙</option>\n    </field>')],
  "DATA", 'field "doctor_name" is of type text and cannot have options', "invalid"),
 ("one-option", LEAFLET, "a choice field with a single option",
  [('      <option key="right">右側</option>\n', ''), ('<field key="side" type="choice" caption="部位">', '<field key="side" type="choice" caption="部位">@@')],
  "DATA", 'field "side" has 1 option; a choice field needs at least two', "invalid"),
 ("missing-band", LEAFLET, "a rare risk without a caption for the rare band",
  [('        <risk frequency="common">注射部位疼痛</risk>', '        <risk frequency="common">注射部位疼痛</risk>\n        <risk frequency="rare">感染</risk>@@')],
  "DATA", 'risk has frequency "rare" but <risk-bands> gives no caption for it', "valid"),
 ("duplicate-band", LEAFLET, "two bands for one frequency",
  [('<band frequency="common" caption="常見風險"/>', '<band frequency="common" caption="常見風險"/>\n    <band frequency="common" caption="又一個"/>@@')],
  "DATA", 'band has frequency "common" a second time (first on line 20)', "valid"),
 ("two-signing-sections", CONSENT, "two sections with role signing",
  [("  </body>", "    <section role=\"signing\">@@\n      <p>再簽一次。</p>\n    </section>\n  </body>")],
  "DATA", 'a second section with role="signing" (the first is on line 23)', "valid"),
 ("consent-no-patient", CONSENT, "a consent form without a patient signature",
  [('        <signature role="patient" caption="病人簽署" sign="簽名" date="日期"/>\n', ''), ('kind="consent"', 'kind="consent"@@')],
  "DATA", 'a consent form needs a patient signature', "valid"),
 ("consent-no-alternatives", CONSENT, "a consent form without a section on alternatives",
  [('<section id="alternatives"', '<section id="other-options"'), ('kind="consent"', 'kind="consent"@@')],
  "DATA", 'a consent form needs a section on the alternatives: <section id="alternatives">', "valid"),
 ("consent-no-declarations", CONSENT, "a consent form without declarations",
  [('      <declarations>\n        <li>我同意接受治療。</li>\n      </declarations>\n', ''), ('kind="consent"', 'kind="consent"@@')],
  "DATA", 'a consent form needs <declarations>', "valid"),
 ("consent-no-risk", CONSENT, "a consent form without risks",
  [('      <risks>\n        <risk frequency="common">注射部位疼痛</risk>\n      </risks>\n', '      <p>沒有風險。</p>\n'), ('kind="consent"', 'kind="consent"@@')],
  "DATA", 'a consent form needs at least one <risk>', "valid"),
 ("guardian-no-relationship", CONSENT, "a guardian signature without a relationship line",
  [('<signature role="doctor"', '<signature role="guardian" caption="監護人" sign="簽名" date="日期"/>@@\n        <signature role="doctor"')],
  "DATA", 'a guardian signature needs relationship=', "invalid"),
 ("bad-required-group", CONSENT, "a signature group that is not a key",
  [('<signature role="doctor" caption="醫師簽署"', '<signature role="doctor" required="Doctor Group" caption="醫師簽署"'), ('<signature role="doctor"', '<signature role="doctor"@@')],
  "DATA", 'signature has required "Doctor Group"; a key is a lower-case letter', "invalid"),
 ("relationship-not-guardian", CONSENT, "a relationship line on a doctor's signature",
  [('<signature role="doctor" caption="醫師簽署"', '<signature role="doctor" relationship="關係" caption="醫師簽署"'), ('<signature role="doctor"', '<signature role="doctor"@@')],
  "DATA", 'relationship="…" is only for a guardian signature', "invalid"),
 ("interpreter-no-language", CONSENT, "an interpreter signature without a language line",
  [('<signature role="doctor"', '<signature role="interpreter" caption="傳譯員" sign="簽名" date="日期"/>@@\n        <signature role="doctor"')],
  "DATA", 'an interpreter signature needs language=', "invalid"),
 ("approved-no-by", LEAFLET, "an approved form that does not say who approved it",
  [('<status state="draft"/>', '<status state="approved" date="2024-05-01"/>@@')],
  "DATA", 'an approved form needs by="…" on <status>', "valid"),
 ("bad-calendar-date", LEAFLET, "a date that does not exist",
  [('<status state="draft"/>', '<status state="draft"/>\n    <effective>2023-02-29</effective>@@')],
  "DATA", 'effective date "2023-02-29" is not a real calendar date', "valid"),
 ("id-mismatch", LEAFLET, "a form id that is not the file name",
  [('<form id="ID"', '<form id="another-form"'), ('kind="leaflet"', 'kind="leaflet"@@')],
  "DATA", 'form id "another-form" does not match the file name "id-mismatch.xml"; the file must be named another-form.xml', "valid"),
 ("control-character-reference", LEAFLET, "a C1 control character written as a character reference",
  [("<p>本單張介紹注射治療。</p>", "<p>本單張&#x85;介紹注射治療。</p>@@")],
  "DATA", "<p> contains the control character U+0085", "valid"),
 ("tag-mismatch", LEAFLET, "a closing tag that does not match",
  [("<p>本單張介紹注射治療。</p>", "<p>本單張介紹注射治療。</li>@@")],
  "DATA", "</li> on line 24 does not close <p>, which was opened on line 24", "-"),
 ("unescaped-ampersand", LEAFLET, "a bare & in text (libxml2 says only \"xmlParseEntityRef: no name\")",
  [("<p>本單張介紹注射治療。</p>", "<p>物理治療 & 藥物治療</p>@@")],
  "DATA", 'a bare "&": to print an ampersand write &amp;', "-"),
 ("unescaped-less-than", LEAFLET, "a bare < in text (libxml2 says only \"StartTag: invalid element name\")",
  [("<p>本單張介紹注射治療。</p>", "<p>機會 < 1%</p>@@")],
  "DATA", 'a bare "<" that starts no tag: to print a less-than sign write &lt;', "-"),
 ("three-stages", LEAFLET, "three problems in three stages: a bare & (XML), an attribute the schema does not allow, a section id given twice (semantic)",
  [("<p>本單張介紹注射治療。</p>", "<p>物理治療 & 藥物治療</p>@@"),
   ('<section id="intro" title="簡介">', '<section id="intro" title="簡介" colour="red">'),
   ("    </section>\n  </body>", "    </section>\n    <section id=\"intro\">\n      <p>重複。</p>\n    </section>\n  </body>")],
  "DATA", 'a bare "&": to print an ampersand write &amp;', "-"),
 ("undefined-entity", LEAFLET, "an entity that is not one of the five predefined ones",
  [("<p>本單張介紹注射治療。</p>", "<p>本單張&nbsp;介紹注射治療。</p>@@")],
  "DATA", "unknown entity &nbsp;; a form may use only &amp; &lt; &gt; &quot; &apos;", "-"),
 ("duplicate-attribute", LEAFLET, "an attribute given twice",
  [('<section id="intro" title="簡介">', '<section id="intro" title="簡介" id="again">@@')],
  "DATA", "attribute id is given twice", "-"),
]

manifest = ["# Rejected forms: file\tstatus\tline\tschema\tphrase",
            "# status: the cf_status; line: where the message points (0: no line);",
            "# schema: invalid = the RELAX NG schema alone rejects the file too, valid = only the",
            "# semantic checks do, - = not well-formed or not for the schema test;",
            "# phrase: text the message must contain."]
for name, base, what, edits, status, phrase, schema in CASES:
    text = base.replace("WHAT", what).replace('id="ID"', 'id="%s"' % name)
    for old, new in edits:
        new = new.replace('id="ID"', 'id="%s"' % name)
        old2 = old.replace('id="ID"', 'id="%s"' % name)
        assert old2 in text, (name, old2)
        text = text.replace(old2, new, 1)
    lines = text.split("\n")
    marked = [i + 1 for i, l in enumerate(lines) if "@@" in l]
    assert len(marked) == 1, (name, marked)
    text = text.replace("@@", "")
    with open(os.path.join(OUT, name + ".xml"), "w") as f:
        f.write(text)
    manifest.append("%s.xml\t%s\t%d\t%s\t%s" % (name, status, marked[0], schema, phrase))

def leaflet(name, what):
    return LEAFLET.replace("WHAT", what).replace('id="ID"', 'id="%s"' % name)

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
# name, bytes, status, line, phrase
RAW = []
body = leaflet("xxe", "XXE: an external entity that would read /etc/passwd").split("\n", 2)[2]
RAW.append(("xxe", (HEAD + "<!-- XXE: an external entity that would read /etc/passwd -->\n"
    "<!DOCTYPE form [\n  <!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n"
    + body.replace("<p>本單張介紹注射治療。</p>", "<p>&xxe;</p>")).encode(),
    "DATA", 3, "a DOCTYPE or entity declaration is not allowed in a form"))
body = leaflet("external-dtd", "x").split("\n", 2)[2]
RAW.append(("external-dtd", (HEAD + "<!-- an external DTD (it would be fetched over the network) -->\n"
    "<!DOCTYPE form SYSTEM \"http://example.com/consent-form.dtd\">\n" + body).encode(),
    "DATA", 3, "a DOCTYPE or entity declaration is not allowed in a form"))
body = leaflet("doctype", "x").split("\n", 2)[2]
RAW.append(("doctype", (HEAD + "<!-- a DOCTYPE without any declaration: forms have none at all -->\n"
    "<!DOCTYPE form>\n" + body).encode(),
    "DATA", 3, "a DOCTYPE or entity declaration is not allowed in a form"))
lol = ['<!ENTITY lol "lol">']
for i in range(1, 10):
    prev = "lol" if i == 1 else "lol%d" % (i - 1)
    lol.append('<!ENTITY lol%d "%s">' % (i, ("&%s;" % prev) * 10))
body = leaflet("billion-laughs", "x").split("\n", 2)[2]
RAW.append(("billion-laughs", (HEAD + "<!-- billion laughs: 10^9 copies of \"lol\" if the entities were expanded -->\n"
    "<!DOCTYPE form [\n  " + "\n  ".join(lol) + "\n]>\n"
    + body.replace("<p>本單張介紹注射治療。</p>", "<p>&lol9;</p>")).encode(),
    "DATA", 3, "a DOCTYPE or entity declaration is not allowed in a form"))
body = leaflet("quadratic-blowup", "x").split("\n", 2)[2]
RAW.append(("quadratic-blowup", (HEAD + "<!-- quadratic blowup: one 20,000-character entity referenced 5,000 times (100 MB) -->\n"
    "<!DOCTYPE form [\n  <!ENTITY a \"" + "a" * 20000 + "\">\n]>\n"
    + body.replace("<p>本單張介紹注射治療。</p>", "<p>" + "&a;" * 5000 + "</p>")).encode(),
    "DATA", 3, "a DOCTYPE or entity declaration is not allowed in a form"))
full = leaflet("truncated", "a file cut short in the middle of the body")
cut = full.index("<risks>") + len("<risks>\n        <risk frequency=\"common\">注射")
RAW.append(("truncated", full[:cut].encode(), "DATA", 26, "unexpected end of file"))
full = leaflet("invalid-utf8", "a paragraph saved in Big5 inside a UTF-8 file")
RAW.append(("invalid-utf8", full.encode().replace("<p>本單張介紹注射治療。</p>".encode(), b"<p>\xb4\xfa\xb8\xd5</p>"),
    "DATA", 24, "the file is not valid UTF-8 here (byte 0xB4)"))
full = leaflet("big5-declaration", "a form declared and saved as Big5")
RAW.append(("big5-declaration", full.replace('encoding="UTF-8"', 'encoding="Big5"').encode("big5"),
    "DATA", 1, 'the form declares encoding="Big5"; forms must be UTF-8'))
full = leaflet("control-character", "a BEL control character (U+0007) in a paragraph")
RAW.append(("control-character", full.replace("本單張介紹", "本單張\u0007介紹").encode(),
    "DATA", 24, "control character U+0007 is not allowed in a form"))
full = leaflet("control-character-c1", "a NEL control character (U+0085), which XML itself allows")
RAW.append(("control-character-c1", full.replace("本單張介紹", "本單張\u0085介紹").encode(),
    "DATA", 24, "control character U+0085 is not allowed in a form"))
full = leaflet("utf16", "a form saved as UTF-16")
RAW.append(("utf16", full.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
    "DATA", 1, "the file is UTF-16 or UTF-32"))
RAW.append(("empty", b"", "DATA", 1, "the file holds no XML element"))

for name, data, status, line, phrase in RAW:
    with open(os.path.join(OUT, name + ".xml"), "wb") as f:
        f.write(data)
    manifest.append("%s.xml\t%s\t%d\t-\t%s" % (name, status, line, phrase))

with open(os.path.join(OUT, "cases.tsv"), "w") as f:
    f.write("\n".join(manifest) + "\n")
print(len(CASES))
