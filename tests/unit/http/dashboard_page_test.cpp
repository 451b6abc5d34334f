#define CAF_SUITE web.dashboard_page
#include "check.hpp"

// The embedded dashboard page (web/): whole, self-contained (nothing
// fetched from elsewhere: no CDN, no external script, style or font), and
// talking to the node's own /v1 API only. The page's behaviour in a browser
// is tested by cluster.dashboard.

#include <string>

#include "web/dashboard.hpp"

namespace {

bool has(std::string_view page, std::string_view text) {
  return page.find(text) != std::string_view::npos;
}

} // namespace

CAF_TEST(the page is one complete document with its parts joined in) {
  auto page = mesh::dashboard_html();
  CAF_CHECK(page.substr(0, 15) == "<!DOCTYPE html>");
  CAF_CHECK(has(page, "</html>"));
  // The build replaced both placeholders with the CSS and the scripts.
  CAF_CHECK(!has(page, "/*mesh:css*/"));
  CAF_CHECK(!has(page, "/*mesh:js*/"));
  CAF_CHECK(has(page, "// --- dashboard_api.js"));
  CAF_CHECK(has(page, "// --- dashboard_main.js"));
  CAF_CHECK(has(page, "'handler-row'"));
  // The elements the browser test and users' scripts look for.
  CAF_CHECK(has(page, "id=\"node-count\""));
  CAF_CHECK(has(page, "id=\"banner\""));
}

CAF_TEST(the page fetches nothing but the API of its node) {
  auto page = mesh::dashboard_html();
  for (auto external : {"src=", "<link", "@import", "url(", "https://", "//cdn"})
    MESH_CHECK_MSG(!has(page, external), "the page holds " << external);
  // The only absolute URL is the SVG namespace, an identifier.
  auto at = page.find("http://");
  while (at != std::string_view::npos) {
    CAF_CHECK(page.substr(at, 26) == "http://www.w3.org/2000/svg");
    at = page.find("http://", at + 1);
  }
  CAF_CHECK(has(page, "fetch('/v1/' + cmd"));
  CAF_CHECK(has(page, "'Bearer ' + mesh.token"));
}
