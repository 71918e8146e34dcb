#!/usr/bin/python3
"""Rebuilds the project's fonts from Debian's Noto Sans CJK (package fonts-noto-cjk).

libharu 2.3.0 embeds only TrueType (glyf) outlines, so each face is:
  1. taken from the collection by its family name (Noto Sans CJK HK / TC),
  2. cut down to the characters a Hong Kong or Taiwan form can use: every character glibc's
     BIG5-HKSCS, BIG5 and CP950 converters (the ones the CSV reader uses) decode to, beyond
     U+FFFF too (1,713 HKSCS characters, compatibility ideographs included), what Python's big5
     and big5hkscs codecs decode to, the whole CJK Unified Ideographs block, ASCII, Latin-1,
     general and CJK punctuation, full-width forms and a few symbol blocks; the characters of
     that list the source face lacks are printed,
  3. given two glyphs Noto lacks, the ballot boxes U+2610 and U+2611, drawn here,
  4. converted from cubic CFF to quadratic glyf outlines,
  5. re-ordered so that glyph ids follow code points (few cmap segments: libharu's font set-up
     scans the cmap for every BMP code point), with a format 4 cmap for the Basic Multilingual
     Plane and a format 12 cmap for every character,
  6. renamed (the SIL OFL 1.1 asks a modified version not to use the original's names).

Output is deterministic: the same Debian package gives the same bytes.

Usage: fonts/build-fonts.py [OUTDIR]   (default: the folder of this script)
Needs: python3-fonttools, fonts-noto-cjk (apt-get install python3-fonttools fonts-noto-cjk).
"""

import ctypes
import ctypes.util
import hashlib
import os
import struct
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable
from fontTools.ttLib.tables._c_m_a_p import cmap_classes

NOTO_DIR = '/usr/share/fonts/opentype/noto'
FAMILY = 'CF Sans'
# (file stem, source collection, family in the collection, region, style)
FACES = [
    ('cfsans-hk-regular', 'NotoSansCJK-Regular.ttc', 'Noto Sans CJK HK', 'HK', 'Regular'),
    ('cfsans-hk-bold', 'NotoSansCJK-Bold.ttc', 'Noto Sans CJK HK', 'HK', 'Bold'),
    ('cfsans-tw-regular', 'NotoSansCJK-Regular.ttc', 'Noto Sans CJK TC', 'TW', 'Regular'),
    ('cfsans-tw-bold', 'NotoSansCJK-Bold.ttc', 'Noto Sans CJK TC', 'TW', 'Bold'),
]
BALLOT_BOX, BALLOT_BOX_CHECKED = 0x2610, 0x2611
# Maximum distance, in font units (1000 per em), between a cubic curve and its quadratic copy.
CURVE_TOLERANCE = 1.0


def two_byte_sequences():
    """Every lead/trail byte pair of the Big5 family (lead 0x81-0xFE; trail 0x40-0x7E, 0xA1-0xFE)."""
    for lead in range(0x81, 0xFF):
        for trail in list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF)):
            yield bytes((lead, trail))


def codec_repertoire(codec):
    """Every character some two-byte sequence of Python's codec decodes to."""
    found = set()
    for pair in two_byte_sequences():
        try:
            text = pair.decode(codec)
        except UnicodeDecodeError:
            continue
        found.update(ord(ch) for ch in text)
    return found


def iconv_repertoire(charset):
    """Every character some two-byte sequence of glibc's iconv converter charset decodes to
    (the converters the program's CSV reader uses; Python's codecs differ from them)."""
    libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
    libc.iconv_open.restype = ctypes.c_void_p
    libc.iconv_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.iconv_close.argtypes = [ctypes.c_void_p]
    char_pp = ctypes.POINTER(ctypes.c_char_p)
    size_p = ctypes.POINTER(ctypes.c_size_t)
    libc.iconv.restype = ctypes.c_size_t
    libc.iconv.argtypes = [ctypes.c_void_p, char_pp, size_p, char_pp, size_p]
    failed = ctypes.c_size_t(-1).value
    cd = libc.iconv_open(b'UTF-32LE', charset.encode('ascii'))
    if cd is None or cd == failed:
        raise SystemExit(f'iconv cannot convert from {charset}')
    found = set()
    out = ctypes.create_string_buffer(64)
    for pair in two_byte_sequences():
        libc.iconv(cd, None, None, None, None)  # back to the initial state
        src = ctypes.create_string_buffer(pair, len(pair))
        in_ptr, in_left = ctypes.c_char_p(ctypes.addressof(src)), ctypes.c_size_t(len(pair))
        out_ptr, out_left = ctypes.c_char_p(ctypes.addressof(out)), ctypes.c_size_t(len(out))
        if (libc.iconv(cd, ctypes.byref(in_ptr), ctypes.byref(in_left), ctypes.byref(out_ptr),
                       ctypes.byref(out_left)) == failed or in_left.value != 0 or
                libc.iconv(cd, None, None, ctypes.byref(out_ptr), ctypes.byref(out_left)) ==
                failed):
            continue
        written = len(out) - out_left.value
        found.update(struct.unpack(f'<{written // 4}I', out.raw[:written]))
    libc.iconv_close(cd)
    return found


def big5_repertoire():
    """The characters of the Big5 family that must print (see the module comment). CP950's
    user-defined area decodes to the Private Use Area, which no font can print meaningfully (the
    CSV reader refuses it): left out."""
    chars = iconv_repertoire('BIG5-HKSCS') | iconv_repertoire('BIG5') | iconv_repertoire('CP950')
    chars |= codec_repertoire('big5') | codec_repertoire('big5hkscs')
    return {cp for cp in chars if not 0xE000 <= cp <= 0xF8FF}


def wanted_characters(big5):
    chars = set(big5)
    blocks = [
        (0x0020, 0x007E),  # ASCII
        (0x00A0, 0x00FF),  # Latin-1
        (0x2000, 0x206F),  # general punctuation: – — ‘ ’ “ ” … ‧ ※
        (0x2100, 0x218F),  # letterlike symbols, number forms: ℃ № Ⅰ
        (0x2190, 0x21FF),  # arrows
        (0x2460, 0x24FF),  # enclosed alphanumerics: ①
        (0x2500, 0x25FF),  # box drawing, block elements, geometric shapes: ■ □ ● ○ ▶
        (0x3000, 0x303F),  # CJK symbols and punctuation
        (0x4E00, 0x9FFF),  # all CJK Unified Ideographs (names and variants outside Big5, e.g. 吿)
        (0xFE30, 0xFE4F),  # CJK compatibility forms
        (0xFF00, 0xFFEF),  # full-width and half-width forms
    ]
    for low, high in blocks:
        chars.update(range(low, high + 1))
    return chars


def find_face(collection_path, family):
    collection = TTCollection(collection_path, lazy=True)
    for index, face in enumerate(collection.fonts):
        if face['name'].getDebugName(1) == family:
            return index
    raise SystemExit(f'{collection_path}: no face named "{family}"')


def draw_box(pen, left, bottom, size, stroke):
    """A square outline: outer contour clockwise, inner counter-clockwise (TrueType rules)."""
    right, top = left + size, bottom + size
    pen.moveTo((left, bottom))
    pen.lineTo((left, top))
    pen.lineTo((right, top))
    pen.lineTo((right, bottom))
    pen.closePath()
    pen.moveTo((left + stroke, bottom + stroke))
    pen.lineTo((right - stroke, bottom + stroke))
    pen.lineTo((right - stroke, top - stroke))
    pen.lineTo((left + stroke, top - stroke))
    pen.closePath()


def draw_tick(pen, left, bottom, size, stroke):
    """A tick inside the box, as one closed polygon of constant thickness (clockwise)."""
    def at(fx, fy):
        return (round(left + fx * size), round(bottom + fy * size))
    t = stroke / size
    pen.moveTo(at(0.18, 0.52))
    pen.lineTo(at(0.18 + 0.9 * t, 0.52 + 0.9 * t))
    pen.lineTo(at(0.42, 0.30 + 1.2 * t))
    pen.lineTo(at(0.84 - 0.9 * t, 0.84))
    pen.lineTo(at(0.84, 0.84 - 0.9 * t))
    pen.lineTo(at(0.42, 0.20))
    pen.closePath()


def ballot_glyphs(bold):
    """Glyphs for ☐ and ☑ on a 1000-unit em, sitting like an ideograph (-120..880)."""
    stroke = 70 if bold else 50
    left, bottom, size = 140, 20, 720
    empty = TTGlyphPen(None)
    draw_box(empty, left, bottom, size, stroke)
    ticked = TTGlyphPen(None)
    draw_box(ticked, left, bottom, size, stroke)
    draw_tick(ticked, left, bottom, size, stroke * 1.6)
    return empty.glyph(), ticked.glyph()


def build_face(out_dir, big5, stem, collection, source_family, region, style):
    started = time.monotonic()
    path = os.path.join(NOTO_DIR, collection)
    font = TTFont(path, fontNumber=find_face(path, source_family), recalcTimestamp=False)
    copyright_notice = font['name'].getDebugName(0)
    source_cmap = font.getBestCmap()
    lacking = sorted(cp for cp in big5 if cp not in source_cmap)

    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    options.desubroutinize = True
    options.notdef_outline = True
    options.glyph_names = False
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]
    options.name_languages = [0x409]
    options.drop_tables += ['GSUB', 'GPOS', 'GDEF', 'BASE', 'VORG', 'vhea', 'vmtx', 'DSIG',
                            'meta', 'gasp']
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=wanted_characters(big5))
    subsetter.subset(font)

    # Cubic CFF outlines to quadratic glyf outlines.
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable('glyf')
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(None)
        glyph_set[name].draw(Cu2QuPen(pen, CURVE_TOLERANCE, reverse_direction=True))
        glyf[name] = pen.glyph()
    metrics = font['hmtx'].metrics

    cmap = dict(font.getBestCmap())
    empty, ticked = ballot_glyphs(style == 'Bold')
    for cp, glyph in ((BALLOT_BOX, empty), (BALLOT_BOX_CHECKED, ticked)):
        name = f'uni{cp:04X}'
        if cp in cmap:
            continue
        order.append(name)
        glyf[name] = glyph
        metrics[name] = (1000, 140)
        cmap[cp] = name

    del font['CFF ']
    font['glyf'] = glyf
    font['loca'] = newTable('loca')
    font.sfntVersion = '\x00\x01\x00\x00'
    maxp = font['maxp']
    maxp.tableVersion = 0x00010000
    for field in ('maxTwilightPoints', 'maxStorage', 'maxFunctionDefs', 'maxInstructionDefs',
                  'maxStackElements', 'maxSizeOfInstructions', 'maxComponentElements',
                  'maxComponentDepth', 'maxPoints', 'maxContours', 'maxCompositePoints',
                  'maxCompositeContours'):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    font['head'].glyphDataFormat = 0
    post = font['post']
    post.formatType = 3.0
    post.extraNames = []
    post.mapping = {}

    # Glyph ids in code point order: consecutive characters get consecutive ids, so the format 4
    # cmap needs one segment per run instead of one per character.
    first_use = {}
    for cp in sorted(cmap):
        first_use.setdefault(cmap[cp], cp)
    unmapped = [g for g in order[1:] if g not in first_use]
    new_order = [order[0]] + sorted(first_use, key=first_use.get) + unmapped
    font.setGlyphOrder(new_order)
    glyf.glyphOrder = new_order
    font['hmtx'].metrics = metrics

    # Format 4 (Windows, Unicode BMP) for the Basic Multilingual Plane, format 12 (Windows,
    # Unicode full repertoire) for every character, as the OpenType spec recommends.
    bmp = cmap_classes[4](4)
    bmp.platformID, bmp.platEncID, bmp.language = 3, 1, 0
    bmp.cmap = {cp: g for cp, g in cmap.items() if cp <= 0xFFFF}
    full = cmap_classes[12](12)
    full.platformID, full.platEncID, full.language, full.cmap = 3, 10, 0, cmap
    font['cmap'].tableVersion = 0
    font['cmap'].tables = [bmp, full] if len(cmap) > len(bmp.cmap) else [bmp]

    # Names: the OFL asks a modified version not to use the original's names.
    family = f'{FAMILY} {region}'
    postscript = f'{FAMILY.replace(" ", "")}{region}-{style}'
    names = {
        0: copyright_notice,
        1: family,
        2: style,
        3: f'1.000;{postscript}',
        4: f'{family} {style}',
        5: f'Version 1.000; subset of {source_family} {style} converted to TrueType',
        6: postscript,
        13: 'This Font Software is licensed under the SIL Open Font License, Version 1.1.',
        14: 'https://openfontlicense.org',
    }
    font['name'].names = []
    for name_id, text in names.items():
        font['name'].setName(text, name_id, 3, 1, 0x409)
    font['OS/2'].fsType = 0  # installable embedding, as the OFL allows

    out = os.path.join(out_dir, stem + '.ttf')
    temp = out + '.tmp'
    font.save(temp)
    os.replace(temp, out)
    with open(out, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    check = TTFont(out)
    mapped = check.getBestCmap()
    beyond = sum(1 for cp in mapped if cp > 0xFFFF)
    report = (f'{stem}.ttf: {os.path.getsize(out)} bytes, {len(check.getGlyphOrder())} glyphs, '
              f'{len(mapped)} characters ({beyond} beyond U+FFFF), sha256 {digest[:16]}, '
              f'{time.monotonic() - started:.1f} s')
    if lacking:
        report += (f'\n  {source_family} {style} lacks {len(lacking)} characters of the Big5 '
                   'converters: ' + ' '.join(f'U+{cp:04X}' for cp in lacking))
    return report


def write_license(out_dir):
    """OFL.txt: the copyright notice of the source fonts and the licence text Debian ships."""
    with open('/usr/share/doc/fonts-noto-cjk/copyright', encoding='utf-8') as f:
        lines = f.read().split('\n')
    start = lines.index('License: SIL-1.1', lines.index('Files: debian/*'))
    text = []
    for line in lines[start + 1:]:
        if not line.startswith(' '):
            break
        text.append('' if line == ' .' else line[1:])
    font = TTFont(os.path.join(NOTO_DIR, 'NotoSansCJK-Regular.ttc'), fontNumber=0, lazy=True)
    header = [
        'The fonts in this folder (cfsans-*.ttf) are a Modified Version of Noto Sans CJK,',
        'subset, converted to TrueType outlines and renamed by fonts/build-fonts.py.',
        '',
        font['name'].getDebugName(0),
        '',
        'This Font Software is licensed under the SIL Open Font License, Version 1.1.',
        '',
    ]
    with open(os.path.join(out_dir, 'OFL.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(header + text).rstrip('\n') + '\n')


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(out_dir, exist_ok=True)
    write_license(out_dir)
    big5 = big5_repertoire()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        jobs = [pool.submit(build_face, out_dir, big5, *face) for face in FACES]
        for job in jobs:
            print(job.result(), flush=True)


if __name__ == '__main__':
    main()
