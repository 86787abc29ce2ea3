// The web page's icon, served at /favicon.ico (browsers ask for it on every visit): a
// 32x32 speech bubble in the page's accent colour, a real ICO file (one 32-bit BMP image)
// that every browser reads. Drawn in code at first use, so no binary asset is committed.
#pragma once
#include <string_view>

namespace chatforge::serve {

inline constexpr std::string_view kFaviconContentType = "image/x-icon";

// The ICO bytes: "\0\0\1\0" (an icon file), one 32x32 entry, BITMAPINFOHEADER, BGRA rows
// bottom-up, then the AND mask. The same bytes on every call.
std::string_view favicon_ico();

}  // namespace chatforge::serve
