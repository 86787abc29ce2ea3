# Extras of the serve layer (included from the top CMakeLists.txt after cf_serve exists):
# links Debian's cpp-httplib (a compiled library whose header needs the same defines, so
# it comes through pkg-config), and embeds src/serve/web/index.html into cf_serve as a
# byte array (generated .cpp): the page ships inside the binary, no files read at run time.
if(NOT TARGET cf_serve)
  return()
endif()
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
target_link_libraries(cf_serve PUBLIC PkgConfig::HTTPLIB)
set(_cf_web_src ${CMAKE_SOURCE_DIR}/src/serve/web/index.html)
set(_cf_web_out ${CMAKE_BINARY_DIR}/generated/serve/web_assets.cpp)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_cf_web_src})
file(READ ${_cf_web_src} _cf_web_hex HEX)
string(LENGTH "${_cf_web_hex}" _cf_web_len)
math(EXPR _cf_web_bytes "${_cf_web_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _cf_web_arr "${_cf_web_hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" _cf_web_arr "${_cf_web_arr}")
file(CONFIGURE OUTPUT ${_cf_web_out} CONTENT
"// Generated from src/serve/web/index.html by src/serve/serve.cmake. Do not edit.
#include \"serve/web_assets.h\"
namespace chatforge::serve {
namespace { const unsigned char kIndexHtml[] = {
${_cf_web_arr}
0x00}; }
std::string_view index_html() { return {reinterpret_cast<const char*>(kIndexHtml), ${_cf_web_bytes}}; }
}
")
target_sources(cf_serve PRIVATE ${_cf_web_out})
