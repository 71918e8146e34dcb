#!/usr/bin/python3
"""Writes the table of CSV reader cases: NAME.csv (exact bytes) and NAME.expect (what the reader
must give) for each case below. The files are committed; run this again only to change a case
(it rewrites every case in this folder). The Big5-HKSCS inputs are made with glibc's iconv
(-f UTF-8 -t BIG5-HKSCS), as the cases ask.

.expect format (read by tests/unit/data/test_csv.c):
  # comment
  @encoding auto|utf-8|utf-16|big5|big5-hkscs     @max-field N   @max-row N   @max-columns N
  @read-sizes N N ...                 (default: 1 2 3 5 7 64 65536, each also from memory)
  @map                                (match the header to the test form, print records)
  @delimiter auto|comma|semicolon|tab (forced delimiter; default: sniffed)
  @report                             (a last line: USED ENCODING DELIMITER)
  ROW: field | field | ...            (ROW (line L): ... when the row starts on another line;
                                       fields escape \\n \\r \\t \\\\ \\| and \\xHH)
  ERROR row N: text                   (an error message for row N containing text;
  ERROR: text                          "ERROR:" for the whole file; WARNING likewise)
"""
import os
import subprocess

os.chdir(os.path.dirname(os.path.abspath(__file__)))

def case(name, data, expect):
    if isinstance(data, str): data = data.encode('utf-8')
    open(name + '.csv', 'wb').write(data)
    open(name + '.expect', 'w', encoding='utf-8').write(expect.lstrip('\n'))

def cp950(s):
    return subprocess.run(['iconv', '-f', 'UTF-8', '-t', 'CP950'], input=s.encode('utf-8'),
                          capture_output=True, check=True).stdout

def big5(s):
    return subprocess.run(['iconv', '-f', 'UTF-8', '-t', 'BIG5-HKSCS'], input=s.encode('utf-8'),
                          capture_output=True, check=True).stdout

case('basic', 'patient_name,hospital_no,episode_no\n陳大文,HN12345678(9),HE1234567\nCHAN Tai Man,HN20000001(3),HE2000001\n', '''
# Plain rows, LF line ends.
1: patient_name | hospital_no | episode_no
2: 陳大文 | HN12345678(9) | HE1234567
3: CHAN Tai Man | HN20000001(3) | HE2000001
''')

case('quotes', 'a,b,c\n"CHAN, Tai Man",x,y\n"WONG ""Johnny""",,""\n"",",",""""\n"a""b""""",z,"""q"""\n"x|y","\\",\'\n', '''
# Quoted fields: commas inside, doubled quotes, empty fields quoted and unquoted, a quote that is
# the whole value, a pipe and a backslash (escaped in this file as \\| and \\\\), a lone apostrophe.
1: a | b | c
2: CHAN, Tai Man | x | y
3: WONG "Johnny" |  | 
4:  | , | "
5: a"b"" | z | "q"
6: x\\|y | \\\\ | '
''')

case('multiline', 'name,note\r\n"first line\r\nsecond line",x\r\n"a\nb\nc","d\r\ne"\r\nnext,row\r\n"\n",last\r\n', '''
# Line breaks inside quoted fields are kept (CRLF and LF alike). A row's number counts rows, as a
# spreadsheet does; the line where the row starts is given when it differs.
1: name | note
2: first line\\r\\nsecond line | x
3 (line 4): a\\nb\\nc | d\\r\\ne
4 (line 8): next | row
5 (line 9): \\n | last
''')

case('bom', b'\xef\xbb\xbfpatient_name,hospital_no\r\n\xe9\x99\xb3\xe5\xa4\xa7\xe6\x96\x87,HN1\r\n', '''
# The UTF-8 byte-order mark Excel writes ("CSV UTF-8") is not part of the first column's name.
1: patient_name | hospital_no
2: 陳大文 | HN1
''')

case('crlf', 'a,b\r\n1,2\r\n3,4\r\n', '''
# CRLF line ends.
1: a | b
2: 1 | 2
3: 3 | 4
''')

case('mixed-newlines', 'a,b\r\n1,2\n3,4\r5,6\r\n\r\n7,8', '''
# CRLF, LF and a lone CR (old Mac) all end a line; an empty line is skipped but counted; no final
# line break.
1: a | b
2: 1 | 2
3: 3 | 4
4: 5 | 6
6: 7 | 8
''')

case('no-final-newline', 'a,b\n1,"two"', '''
# The last line has no line break (also after a quoted field).
1: a | b
2: 1 | two
''')

case('trailing-comma-eof', 'a,b\n1,', '''
# A row ending in a comma at the end of the file has an empty last field.
1: a | b
2: 1 | 
''')

case('empty-lines', '\na,b\n\n1,2\n\n\n3,4\n\n', '''
# Empty lines are skipped (Excel writes none; hand-edited files have them) but still counted, so
# row numbers match what a spreadsheet shows.
2: a | b
4: 1 | 2
7: 3 | 4
''')

case('whitespace-fields', 'a,b,c\n  lead,trail  , both \n\t,x\ty,"  q  "\n', '''
# The reader keeps white space as it is (the field rules trim values later).
1: a | b | c
2:   lead | trail   |  both 
3: \\t | x\\ty |   q  
''')

names = 'patient_name,hospital_no,episode_no\r\n李志堃,HN20000003(A),HE2000003\r\n張喆,HN20000004(8),HE2000004\r\n何家燊,HN20000005(6),HE2000005\r\n劉淼,HN20000006(4),HE2000006\r\n鄭峯,HN20000007(2),HE2000007\r\n林美邨,HN20000008(0),HE2000008\r\n"陳, 大文",HN1,HE1\r\n'
case('big5-hkscs-names', big5(names), '''
# Big5-HKSCS as Excel on a Hong Kong Windows saves it; made with
#   iconv -f UTF-8 -t BIG5-HKSCS (glibc 2.36). The HKSCS names 堃 喆 燊 淼 峯 邨 all convert.
# Run with every read size in the default list, so characters are split across reads.
@encoding big5-hkscs
1: patient_name | hospital_no | episode_no
2: 李志堃 | HN20000003(A) | HE2000003
3: 張喆 | HN20000004(8) | HE2000004
4: 何家燊 | HN20000005(6) | HE2000005
5: 劉淼 | HN20000006(4) | HE2000006
6: 鄭峯 | HN20000007(2) | HE2000007
7: 林美邨 | HN20000008(0) | HE2000008
8: 陳, 大文 | HN1 | HE1
''')

case('big5-hkscs-special', b'name,note\r\n' + b'\x88\x62,\x88\xa5\r\n' + b'\x9b\xd0,' + big5('𠝹') + b'x\r\n' + b'\xa1\x40A,\xa4\x40\r\n', '''
# glibc maps some HKSCS codes to two code points (0x8862 -> U+00CA U+0304, 0x88A5 -> U+00EA
# U+030C) and some to code points beyond U+FFFF (0x9BD0 -> U+20779 𠝹). The reader passes them
# through as UTF-8; the field rules reject what cannot be printed. 0xA140 is U+3000.
@encoding big5-hkscs
1: name | note
2: Ê̄ | ê̌
3: 𠝹 | 𠝹x
4: 　A | 一
''')

case('big5-invalid', b'name,no\r\n' + big5('陳大文') + b',1\r\n' + big5('李') + b'\xff\x40,2\r\n', '''
# 0xFF is never a Big5 byte: the row of the bad bytes is named.
@encoding big5-hkscs
1: name | no
2: 陳大文 | 1
ERROR row 3: column 1 (name): the bytes 0xFF 0x40 are not a Big5-HKSCS character
''')

case('big5-truncated', b'name,no\r\n' + big5('陳') + b',1\r\n2,' + big5('陳')[:1], '''
# The file ends after the first byte of a two-byte character.
@encoding big5-hkscs
1: name | no
2: 陳 | 1
ERROR row 3: column 2 (no): the file ends in the middle of a Big5-HKSCS character (0xB3)
''')

case('big5-given-utf8-bom', b'\xef\xbb\xbfname\r\n' + '陳'.encode(), '''
# --encoding big5-hkscs for a file with a UTF-8 byte-order mark: refused before any row.
@encoding big5-hkscs
ERROR: the file starts with a UTF-8 byte-order mark, so it is UTF-8, not Big5-HKSCS
''')

# UTF-8 text whose bytes also happen to be valid Big5-HKSCS: only the end tells.
case('big5-given-utf8', 'name\n' + '大家' + '\n', '''
# UTF-8 text (no byte-order mark) read with --encoding big5-hkscs. The UTF-8 bytes of 大家 are
# valid Big5-HKSCS too (they read as 憭批振!), so the reader only knows at the end, when the
# whole file was valid UTF-8: the error comes after the rows (a caller acts on rows only after
# reading to the end).
@encoding big5-hkscs
1: name
2: 憭批振
ERROR: the file is UTF-8 text, not Big5-HKSCS
''')

case('invalid-utf8-auto', b'patient_name,hospital_no\r\nCHAN,HN1\r\n' + big5('陳大文') + b',HN2\r\n', '''
# Issue 12.3: a Big5 file read with the default --encoding auto: not UTF-8, decodes completely
# as Big5-HKSCS and holds no pair that Big5-HKSCS and cp950 read differently, so it is read as
# Big5-HKSCS (and the reader says so).
@report
1: patient_name | hospital_no
2: CHAN | HN1
3: 陳大文 | HN2
USED big5-hkscs comma
''')

case('big5-auto-ambiguous', b'patient_name,hospital_no\r\n' + big5('陳大文') + b',HN1\r\n' + big5('李') + big5('𠝹') + big5('明') + b',HN2\r\n', '''
# Issue 12.3: with --encoding auto, a Big5 file holding a pair that Hong Kong's Big5-HKSCS and
# Taiwan's cp950 read differently (here the HKSCS character U+20779) needs --encoding big5-hkscs
# or big5; the message names the row, column and bytes and says why.
1: patient_name | hospital_no
2: 陳大文 | HN1
ERROR row 3: column 1 (patient_name): the file is Big5, but the bytes 0x9B 0xD0 are one character in Hong Kong's Big5-HKSCS and another (or a user-defined 造字) in Taiwan's Big5, so the list cannot be read without knowing where it comes from: run again with --encoding big5-hkscs for a Hong Kong list or --encoding big5 for a Taiwan list
''')

case('big5-cp950-names', b'name,no\r\n' + cp950('林志明') + b',1\r\n' + cp950('黃麗珍') + b',2\r\n', '''
# Issue 11.3: --encoding big5 is Taiwan's cp950.
@encoding big5
@report
1: name | no
2: 林志明 | 1
3: 黃麗珍 | 2
USED big5 comma
''')

case('big5-cp950-user-defined', b'name,no\r\n' + cp950('林志明') + b',1\r\n' + cp950('林') + b'\xfa\x41' + cp950('明') + b',2\r\n', '''
# Issue 11.3: under --encoding big5, a pair in cp950's user-defined area (造字, here 0xFA41,
# which Big5-HKSCS reads as 鋛) is an error naming the row, column and bytes.
@encoding big5
1: name | no
2: 林志明 | 1
ERROR row 3: column 1 (name): the bytes 0xFA 0x41 are in Big5's user-defined area
''')

case('big5-cp950-user-defined-c6a1', b'no,name\r\n1,' + cp950('陳') + b'\xc6\xa1\r\n', '''
# Issue 11.3: glibc's CP950 maps 0xC6A1 to U+F6B1 instead of refusing it: the bytes are
# checked, not iconv's answer.
@encoding big5
1: no | name
ERROR row 2: column 2 (name): the bytes 0xC6 0xA1 are in Big5's user-defined area
''')

case('big5-cp950-user-defined-8140', b'name\n\x81\x40\n', '''
# Issue 11.3: the first user-defined area starts at 0x8140.
@encoding big5
1: name
ERROR row 2: column 1 (name): the bytes 0x81 0x40 are in Big5's user-defined area
''')

case('big5-hkscs-fa41', b'name,no\r\n' + big5('林') + b'\xfa\x41' + big5('明') + b',2\r\n', '''
# With --encoding big5-hkscs the same bytes 0xFA41 are the HKSCS character 鋛.
@encoding big5-hkscs
1: name | no
2: 林鋛明 | 2
''')

case('stray-cp1252-in-utf8', 'patient_name,hospital_no\n陳大文,HN1\n'.encode() + b'Jos\xe9 Chan,HN2\n', '''
# Issue 11.3: a UTF-8 list with one stray Windows-1252 byte: the row, the column and the byte,
# and no Big5 hint (the file is not Big5).
1: patient_name | hospital_no
2: 陳大文 | HN1
ERROR row 3: column 1 (patient_name): byte 0xE9 is not UTF-8
''')

case('invalid-utf8-later-column', b'a,b\n\xe9\x99\xb3,"multi\nline ' + b'\xc0\xaf' + b'"\n', '''
# An overlong UTF-8 sequence inside a multi-line quoted field of a UTF-8 file: the row where the
# record starts, the column, and the line of the bad byte.
1: a | b
ERROR row 2: column 2 (b): byte 0xC0 is not UTF-8 (line 3 of the file)
''')

case('invalid-utf8-given-utf8', b'a\n\xe9\x99\n', '''
# --encoding utf-8 and a truncated sequence (0xE9 0x99 then a line break).
@encoding utf-8
1: a
ERROR row 2: column 1 (a): byte 0xE9 is not UTF-8 (--encoding utf-8 was given)
''')

case('truncated-utf8', b'a\n\xe9\x99', '''
# The file ends inside a UTF-8 character.
1: a
ERROR row 2: column 1 (a): the file ends in the middle of a UTF-8 character (0xE9 0x99)
''')

case('surrogate-utf8', b'a\n\xed\xa0\x80\n', '''
# An encoded surrogate (CESU-8) is not UTF-8.
1: a
ERROR row 2: column 1 (a): byte 0xED is not UTF-8
''')

case('unterminated-quote', 'a,b\n1,2\n3,"never closed\n4,5\n6,7\n', '''
# A quote that is never closed swallows the rest of the file: the error names the row where the
# field started (row 3, column 2), not the end of the file.
1: a | b
2: 1 | 2
ERROR row 3: column 2 (b): the quoted field that starts on line 3 has no closing quote
''')

case('stray-quote', 'name,no\nCHAN "Johnny" Tai Man,1\n', '''
# A quote inside an unquoted field.
1: name | no
ERROR row 2: column 1 (name): a quote (") inside a field that does not start with one
''')

case('quote-after-space', 'a,b\n1, "2"\n', '''
# A space before the opening quote makes it a quote inside an unquoted field (RFC 4180).
1: a | b
ERROR row 2: column 2 (b): a quote (") inside a field that does not start with one
''')

case('text-after-quote', 'a,b,c\n1,"two"x,3\n', '''
# Text after the closing quote.
1: a | b | c
ERROR row 2: column 2 (b): text after the closing quote of a quoted field
''')

case('text-after-quote-multiline', 'a,b\n"x\ny" z,1\n', '''
# Text after a closing quote on the second line of a row: the row, and the line.
1: a | b
ERROR row 2: column 1 (a): text after the closing quote of a quoted field; a quote inside a quoted field must be doubled ("") (line 3 of the file)
''')

case('nul-byte', b'a,b\n1,2\n3,x\x00y\n', '''
# A NUL byte (UTF-16 or a binary file) is an error, not the end of a string.
1: a | b
2: 1 | 2
ERROR row 3: column 2 (b): the file holds a NUL byte
''')

case('nul-in-quotes', b'a,b\n"\x00",2\n', '''
1: a | b
ERROR row 2: column 1 (a): the file holds a NUL byte
''')

case('empty', b'', '''
# An empty file has no header row.
ERROR: empty file: no header row
''')

case('bom-only', b'\xef\xbb\xbf', '''
# Only a byte-order mark: still no header.
ERROR: empty file: no header row
''')

case('blank-lines-only', b'\r\n\r\n\n', '''
# Only empty lines: no header.
ERROR: empty file: no header row
''')

case('header-only', 'patient_name,hospital_no,episode_no\r\n', '''
# A header and no rows: valid, zero rows.
1: patient_name | hospital_no | episode_no
''')

case('utf16', '\ufeffa,b\r\n1,2\r\n'.encode('utf-16-le'), '''
# Issue 12.3: UTF-16 with a byte-order mark is read.
@report
1: a | b
2: 1 | 2
USED utf-16le comma
''')

case('utf16le-unicode-text', '\ufeffWard\tBed\tHN\tPatient Name\r\n5A\t12\tHN12345678(9)\t陳大文\r\n5B\t3\tHN2\t"CHAN,\tTai\r\nMan"\r\n6\t1\tHN3\t李𠝹明\r\n'.encode('utf-16-le'), '''
# Issue 12.3: Excel's "Unicode Text": UTF-16LE with a byte-order mark, tab-separated, CRLF; a
# quoted field holding a comma, a tab and a line break; a character beyond U+FFFF.
@report
1: Ward | Bed | HN | Patient Name
2: 5A | 12 | HN12345678(9) | 陳大文
3: 5B | 3 | HN2 | CHAN,\\tTai\\r\\nMan
4 (line 5): 6 | 1 | HN3 | 李𠝹明
USED utf-16le tab
''')

case('utf16be', '\ufeffa\tb\n1\t陳\n'.encode('utf-16-be'), '''
# Issue 12.3: UTF-16BE with a byte-order mark.
@report
1: a | b
2: 1 | 陳
USED utf-16be tab
''')

case('utf16-lone-surrogate', '\ufeffa\n'.encode('utf-16-le') + b'\x00\xd8\x31\x00\n\x00', '''
# A lone surrogate in UTF-16: the row and column.
1: a
ERROR row 2: column 1 (a): the bytes 0x00 0xD8 are not UTF-16 text
''')

case('utf16-given-big5', '\ufeffa\n'.encode('utf-16-le'), '''
# A UTF-16 byte-order mark with --encoding big5: refused before any row.
@encoding big5
ERROR: the file starts with a UTF-16 byte-order mark
''')

case('semicolon', 'patient_name;hospital_no;note\r\n陳大文;HN1;"a;b, c"\r\n', '''
# Issue 12.3: the delimiter sniffed from the header row (semicolon, as Excel writes in locales
# with a decimal comma); a quoted semicolon and comma stay in the field.
@report
1: patient_name | hospital_no | note
2: 陳大文 | HN1 | a;b, c
USED utf-8 semicolon
''')

case('sniff-quoted', '"a,b";c;d\n1;2,5;3\n', '''
# Delimiters inside quotes in the header are not counted.
@report
1: a,b | c | d
2: 1 | 2,5 | 3
USED utf-8 semicolon
''')

case('sniff-tie', 'a,b;c\n1,2;3\n', '''
# A tie goes to the comma.
@report
1: a | b;c
2: 1 | 2;3
USED utf-8 comma
''')

case('delimiter-forced', 'a;b,c\n1;2,3\n', '''
# --delimiter forces one.
@delimiter ,
@report
1: a;b | c
2: 1;2 | 3
USED utf-8 comma
''')

case('sep-line', '\ufeffsep=;\r\npatient_name;hospital_no\r\n陳大文;HN1,5\r\n', '''
# Issue 12.3: Excel's "sep=;" first line (after a byte-order mark) names the delimiter and is
# not a row: the header is row 1, on line 2 of the file.
@report
1 (line 2): patient_name | hospital_no
2 (line 3): 陳大文 | HN1,5
USED utf-8 semicolon
''')

case('sep-line-error', 'sep=,\na,b\n1,"2\n', '''
# Row numbers after a sep= line: the row as Excel shows it, and the line of the file.
1 (line 2): a | b
ERROR row 2: column 2 (b): the quoted field that starts on line 3 has no closing quote
''')

case('sep-line-only', 'sep=;', '''
# A sep= line and nothing else: an empty list.
ERROR: empty file: no header row
''')

case('xlsx', b'PK\x03\x04\x14\x00\x06\x00', '''
# A workbook saved as .xlsx (a zip file) given as the CSV.
ERROR: this is a workbook (.xlsx) or another zip file, not a CSV file
''')

case('column-limit', 'a,b,c\n1,2,3\n1,2,3,4\n', '''
# More columns than the cap.
@max-columns 3
1: a | b | c
2: 1 | 2 | 3
ERROR row 3: the row has more than 3 columns (the limit)
''')

case('field-limit', 'a,b\n12345,"1234"""\n123456,x\n', '''
# A field of exactly the cap (5 bytes, a doubled quote counts once) is read; one byte more is not.
@max-field 5
1: a | b
2: 12345 | 1234"
ERROR row 3: column 1 (a): the field is longer than 5 bytes (the limit)
''')

case('field-limit-utf8', 'a\n陳大\n陳大文\n', '''
# The field cap counts UTF-8 bytes (陳大 is 6, 陳大文 9).
@max-field 8
1: a
2: 陳大
ERROR row 3: column 1 (a): the field is longer than 8 bytes (the limit)
''')

case('row-limit', 'a,b,c\n12,34,56\n12,34,567\n', '''
# All the fields of a row together are capped too (the header's 3 bytes fit).
@max-row 6
1: a | b | c
2: 12 | 34 | 56
ERROR row 3: column 3 (c): the row is longer than 6 bytes (the limit)
''')

# ---- with the test form (see data_test_util.h): header map and records ----
case('map-basic', '\ufeffpatient_name,hospital_no,episode_no,side\r\n陳大文,HN1,HE1,left\r\n,,,\r\n', '''
# Records: each column's value under the field key; empty cells give empty values.
@map
2: patient_name=陳大文 | hospital_no=HN1 | episode_no=HE1 | side=left
3: patient_name= | hospital_no= | episode_no= | side=
''')

case('map-header-spelling', ' Patient_Name ,HOSPITAL_NO,\u3000Episode_No\u3000\nA,B,C\n', '''
# Column names match field keys ignoring ASCII case and surrounding spaces (also U+3000).
@map
2: patient_name=A | hospital_no=B | episode_no=C
''')

case('map-ragged', 'patient_name,hospital_no,episode_no\nA,B,C\nA,B\nA,B,C,D\n"A,B",C\nA,B,C\n', '''
# Rows with too few or too many fields are errors for that row; reading goes on.
@map
2: patient_name=A | hospital_no=B | episode_no=C
ERROR row 3: the row has 2 fields but the header has 3 columns
ERROR row 4: the row has 4 fields but the header has 3 columns
ERROR row 5: the row has 2 fields but the header has 3 columns
6: patient_name=A | hospital_no=B | episode_no=C
''')

case('map-duplicate-column', 'patient_name,hospital_no,episode_no,Hospital_No\nA,B,C,D\n', '''
# The same column twice (ignoring case) is an error: which one holds the value?
@map
ERROR row 1: column 2 (hospital_no) and column 4 have the same name; remove or rename one of them
''')

case('map-missing-required', 'patient_name,episode_no,Remarks\nA,C,x\n', '''
# A required field of the form with no column: an error before any row is used. The unknown
# column is warned about first.
@map
WARNING row 1: column 3 (Remarks) is not a field of test-form; its values are ignored
ERROR row 1: test-form needs a column hospital_no (Hospital No), which the file does not have; its columns are: patient_name, episode_no, Remarks
''')

case('map-unknown-column', 'patient_name,Patient Age,hospital_no,episode_no,,procedure date\nA,42,B,C,,2025-01-02\nD,43,E,F,x,2025-01-03\n', '''
# Columns that are no field of the form: one warning each, once (not per row), and their values
# are left out of the records. A near miss gets a hint.
@map
WARNING row 1: column 2 (Patient Age) is not a field of test-form; its values are ignored
WARNING row 1: column 5 has no name; its values are ignored
WARNING row 1: column 6 (procedure date) is not a field of test-form; its values are ignored (did you mean procedure_date?)
2: patient_name=A | hospital_no=B | episode_no=C
3: patient_name=D | hospital_no=E | episode_no=F
''')

case('old-mac-cr', 'a,b\r1,"x\ry"\r2,3\r', '''
# Old Mac line ends (CR alone), also inside a quoted field.
1: a | b
2: 1 | x\\ry
3 (line 4): 2 | 3
''')

case('quoted-eof', 'a,b\n1,"2"', '''
# A quoted last field with no line break after it.
1: a | b
2: 1 | 2
''')

case('empty-quoted-row', 'a\n""\n\n"x"\n', '''
# A line holding only "" is a row with one empty field, not an empty line.
1: a
2: 
4: x
''')

case('lone-quote-eof', 'a,b\n1,"', '''
# A quote opened at the very end of the file.
1: a | b
ERROR row 2: column 2 (b): the quoted field that starts on line 2 has no closing quote: the file ends inside it
''')

case('unterminated-later-field', 'a,b,c\n"x\ny",2,"z\n\n', '''
# The unterminated field is the third of a row that began a line earlier: the row and the line
# where that field starts are both named.
1: a | b | c
ERROR row 2: column 3 (c): the quoted field that starts on line 3 has no closing quote: the file ends inside it (line 5 of the file)
''')
