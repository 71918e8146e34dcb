// QR decoding with zxing-cpp, behind the C interface of qr_decoders.h. The only C++ file of
// consentform; no exception leaves it.
#include "scan/qr_decoders.h"

#include <ZXing/DecodeHints.h>
#include <ZXing/ImageView.h>
#include <ZXing/ReadBarcode.h>
#include <ZXing/Result.h>

#include <exception>
#include <string>

extern "C" int cf_scan_zxing_find(const unsigned char *pixels, unsigned width, unsigned height,
                                  cf_scan_qr_found found, void *ctx)
{
    try {
        ZXing::ImageView view(pixels, static_cast<int>(width), static_cast<int>(height),
                              ZXing::ImageFormat::Lum);
        ZXing::DecodeHints hints;
        hints.setFormats(ZXing::BarcodeFormat::QRCode);
        hints.setTryHarder(true);
        hints.setTryRotate(true);
        hints.setMaxNumberOfSymbols(4);
        for (const ZXing::Result &r : ZXing::ReadBarcodes(view, hints)) {
            if (!r.isValid())
                continue;
            const ZXing::ByteArray &bytes = r.bytes();
            std::string text(bytes.begin(), bytes.end());
            const ZXing::Position &p = r.position();
            const double corners[8] = {
                static_cast<double>(p.topLeft().x),     static_cast<double>(p.topLeft().y),
                static_cast<double>(p.topRight().x),    static_cast<double>(p.topRight().y),
                static_cast<double>(p.bottomRight().x), static_cast<double>(p.bottomRight().y),
                static_cast<double>(p.bottomLeft().x),  static_cast<double>(p.bottomLeft().y),
            };
            if (found(ctx, text.data(), text.size(), corners))
                break;
        }
        return 0;
    } catch (const std::exception &) {
        return -1;
    }
}
