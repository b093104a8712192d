// SPDX-License-Identifier: Apache-2.0
// fmt's compiled part, built into a program instead of taken from libfmt.so: for programs that
// run once per message (vhostmail-deliver), where loading libfmt.so and the libstdc++.so it
// needs is a third of the start-up. Debian ships fmt only as a shared library, so the
// out-of-line functions come from its own format-inl.h (FMT_FUNC is non-inline outside header-
// only mode) and the templates it keeps out of the headers are instantiated here.
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {

template auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;
template auto thousands_sep_impl(locale_ref loc) -> thousands_sep_result<char>;
template auto decimal_point_impl(locale_ref loc) -> char;

}  // namespace detail
FMT_END_NAMESPACE
