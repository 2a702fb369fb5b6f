// Unit tests of the response head the server writes by hand (net/http_wire.h).
#include <gtest/gtest.h>

#include <string>

#include "net/http_wire.h"

namespace ringkv::net::detail {
namespace {

std::string head_of(const HttpResponse& response, Framing framing = {11, true, false}) {
  std::string head = "left over from the previous response";
  serialize_head(response, framing, head);
  return head;
}

TEST(SerializeHead, StatusLineHandlerHeadersAndLength) {
  HttpResponse response{
      200, {{"Content-Type", "application/octet-stream"}, {"X-Context", "abc"}}, "hello", false};
  EXPECT_EQ(head_of(response),
            "HTTP/1.1 200 OK\r\nServer: ringkv\r\nContent-Type: application/octet-stream\r\n"
            "X-Context: abc\r\nContent-Length: 5\r\n\r\n");
}

TEST(SerializeHead, FramingHeadersOfTheHandlerAndBrokenLinesAreLeftOut) {
  HttpResponse response{404,
                        {{"content-length", "99"},
                         {"Connection", "upgrade"},
                         {"TRANSFER-ENCODING", "chunked"},
                         {"", "no name"},
                         {"X-Bad", "a\r\nSet-Cookie: x"},
                         {"X-Nul", std::string("a\0b", 3)},
                         {"X\nBad", "v"},
                         {"X-Good", "kept"}},
                        "",
                        false};
  EXPECT_EQ(
      head_of(response),
      "HTTP/1.1 404 Not Found\r\nServer: ringkv\r\nX-Good: kept\r\nContent-Length: 0\r\n\r\n");
}

// The line-break check reads eight bytes at a time: every byte value at
// every position of values up to 20 bytes long, kept unless CR, LF or NUL.
TEST(SerializeHead, OnlyCrLfAndNulBreakALineWhereverTheyAre) {
  for (size_t length = 1; length <= 20; ++length) {
    for (size_t position = 0; position < length; ++position) {
      for (int byte = 0; byte < 256; ++byte) {
        std::string value(length, 'a');
        value[position] = static_cast<char>(byte);
        HttpResponse response{204, {{"X-V", value}}, "", false};
        const bool kept = head_of(response).find("X-V: ") != std::string::npos;
        ASSERT_EQ(kept, byte != '\r' && byte != '\n' && byte != 0)
            << "byte " << byte << " at " << position << " of " << length;
      }
    }
  }
}

TEST(SerializeHead, HeadAnnouncesTheHandlersLengthOnlyWhenItIsANumber) {
  HttpResponse response{200, {{"Content-Length", "1234"}}, "", false};
  EXPECT_EQ(head_of(response, {11, true, true}),
            "HTTP/1.1 200 OK\r\nServer: ringkv\r\nContent-Length: 1234\r\n\r\n");
  response.headers = {{"Content-Length", "12x"}};
  response.body = "abc";
  EXPECT_EQ(head_of(response, {11, true, true}),
            "HTTP/1.1 200 OK\r\nServer: ringkv\r\nContent-Length: 3\r\n\r\n");
  // Not a HEAD request: the body's own length.
  response.headers = {{"Content-Length", "1234"}};
  EXPECT_EQ(head_of(response), "HTTP/1.1 200 OK\r\nServer: ringkv\r\nContent-Length: 3\r\n\r\n");
}

TEST(SerializeHead, BodilessStatusesHaveNoLength) {
  for (int status : {101, 204, 304}) {
    HttpResponse response{status, {}, "", false};
    const std::string head = head_of(response);
    EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
    EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
  }
}

TEST(SerializeHead, ConnectionHandlingByVersionAndClose) {
  HttpResponse response{200, {}, "x", false};
  EXPECT_EQ(head_of(response, {10, true, false}),
            "HTTP/1.0 200 OK\r\nServer: ringkv\r\nContent-Length: 1\r\n"
            "Connection: keep-alive\r\n\r\n");
  EXPECT_EQ(head_of(response, {10, false, false}),
            "HTTP/1.0 200 OK\r\nServer: ringkv\r\nContent-Length: 1\r\nConnection: close\r\n\r\n");
  response.close = true;
  EXPECT_EQ(head_of(response),
            "HTTP/1.1 200 OK\r\nServer: ringkv\r\nContent-Length: 1\r\nConnection: close\r\n\r\n");
}

TEST(SerializeHead, AnInvalidStatusIsA500) {
  for (int status : {0, 99, 600, -1}) {
    HttpResponse response{status, {}, "", false};
    EXPECT_EQ(head_of(response).rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << status;
  }
}

TEST(SerializeHead, ManyAndLongHeaders) {
  HttpResponse response{200, {}, std::string(100000, 'b'), false};
  std::string expected = "HTTP/1.1 200 OK\r\nServer: ringkv\r\n";
  for (int index = 0; index < 50; ++index) {
    const std::string name = "X-H" + std::to_string(index);
    const std::string value(index * 37, 'v');
    response.headers.push_back({name, value});
    expected += name + ": " + value + "\r\n";
  }
  expected += "Content-Length: 100000\r\n\r\n";
  EXPECT_EQ(head_of(response), expected);
}

}  // namespace
}  // namespace ringkv::net::detail
