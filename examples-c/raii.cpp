// SPDX-License-Identifier: MIT
// C++17: the handle in a std::unique_ptr (closed on every path), one batch into a std::vector.
//
//   c++ -std=c++17 -o raii raii.cpp $(pkg-config --cflags --libs psample)

#include <cstdio>
#include <memory>
#include <vector>

#include <psample.h>

namespace {

struct sub_closer {
    void operator()(psample_sub *sub) const noexcept { psample_close(sub); }
};
using sub_ptr = std::unique_ptr<psample_sub, sub_closer>;

int fail(int rc)
{
    std::fprintf(stderr, "raii: %s\n", psample_strerror(rc));
    return 1;
}

} // namespace

int main()
{
    psample_sub *raw = nullptr;
    int rc = psample_subscribe(&raw, nullptr);
    if (rc < 0)
        return fail(rc);
    sub_ptr sub(raw);

    std::vector<psample_packet> batch(64);
    rc = psample_recv(sub.get(), batch.data(), batch.size(), sizeof(psample_packet));
    if (rc < 0)
        return fail(rc);
    batch.resize(static_cast<size_t>(rc));
    for (const psample_packet &p : batch)
        std::printf("group %u seq %u\n", p.group, p.group_seq);
    return 0;
}
