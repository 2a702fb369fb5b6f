// Unit tests of the node-file parser: a good file becomes a node table in file
// order, and every bad one is rejected with a message that names the line and,
// once its id is known, the node.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "ring/node_file.h"

namespace ringkv {
namespace {

using ::testing::HasSubstr;

// The error message for `text`, which must fail.
std::string error_of(std::string_view text) {
  auto parsed = parse_node_file(text, "nodes.toml");
  EXPECT_FALSE(parsed.ok()) << text;
  if (parsed.ok())
    return "<parsed>";
  EXPECT_EQ(parsed.status().code(), Code::invalid_argument);
  return parsed.status().message();
}

TEST(RingNodeFile, ParsesEveryFieldInFileOrder) {
  const auto parsed = parse_node_file(R"(# three nodes
[[node]]
id = "b"
capacity = 2
zone = "west"

[[node]]
id = "a"
capacity = 1
zone = "east"
state = "leaving"

[[node]]
capacity = 4
id = "c"
)",
                                      "nodes.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  const std::vector<RingNode> expected = {{"b", 2, "west", NodeState::active},
                                          {"a", 1, "east", NodeState::leaving},
                                          {"c", 4, "", NodeState::active}};
  EXPECT_EQ(*parsed, expected);
}

TEST(RingNodeFile, TomlSyntaxErrorNamesTheLine) {
  const std::string message = error_of("[[node]]\nid = \"a\"\ncapacity = = 1\n");
  EXPECT_THAT(message, HasSubstr("nodes.toml line 3:"));
}

TEST(RingNodeFile, UnknownFieldNamesLineAndNode) {
  const std::string message = error_of(
      "[[node]]\nid = \"a\"\ncapacity = 1\n\n"
      "[[node]]\nid = \"b\"\ncapacty = 4\n");
  EXPECT_THAT(message, HasSubstr("line 7:"));
  EXPECT_THAT(message, HasSubstr("node \"b\""));
  EXPECT_THAT(message, HasSubstr("unknown field 'capacty'"));
}

TEST(RingNodeFile, DuplicateIdNamesBothLines) {
  const std::string message = error_of(
      "[[node]]\nid = \"a\"\ncapacity = 1\n"
      "[[node]]\nid = \"a\"\ncapacity = 2\n");
  EXPECT_THAT(message, HasSubstr("line 5:"));
  EXPECT_THAT(message, HasSubstr("duplicate node id \"a\""));
  EXPECT_THAT(message, HasSubstr("first at line 2"));
}

TEST(RingNodeFile, CapacityMustBeAPositiveIntegerInRange) {
  for (const char* capacity : {"0", "-3", "1.5", "\"2\"", "1000001"}) {
    const std::string message =
        error_of(std::string("[[node]]\nid = \"a\"\nzone = \"z\"\ncapacity = ") + capacity + "\n");
    EXPECT_THAT(message, HasSubstr("line 4:")) << capacity;
    EXPECT_THAT(message, HasSubstr("node \"a\": 'capacity' must be an integer 1..1000000"))
        << capacity;
  }
  EXPECT_THAT(error_of("[[node]]\nid = \"a\"\nzone = \"z\"\n"),
              HasSubstr("line 1: node \"a\" has no 'capacity'"));
}

TEST(RingNodeFile, MissingOrBadIdNamesTheTable) {
  EXPECT_THAT(error_of("[[node]]\nid = \"a\"\ncapacity = 1\n\n[[node]]\ncapacity = 1\n"),
              HasSubstr("line 5: node #2 has no 'id'"));
  EXPECT_THAT(error_of("[[node]]\nid = 7\ncapacity = 1\n"),
              HasSubstr("line 2: node #1: 'id' must be a string"));
  EXPECT_THAT(error_of("[[node]]\nid = \"\"\ncapacity = 1\n"),
              HasSubstr("line 2: node #1: 'id' must be 1..255 bytes"));
}

TEST(RingNodeFile, ZoneAndStateAreChecked) {
  EXPECT_THAT(error_of("[[node]]\nid = \"a\"\ncapacity = 1\nzone = 3\n"),
              HasSubstr("line 4: node \"a\": 'zone' must be a string"));
  EXPECT_THAT(
      error_of("[[node]]\nid = \"a\"\ncapacity = 1\nzone = \"" + std::string(256, 'z') + "\"\n"),
      HasSubstr("line 4: node \"a\": 'zone' must be at most 255 bytes"));
  EXPECT_THAT(error_of("[[node]]\nid = \"a\"\ncapacity = 1\nstate = \"gone\"\n"),
              HasSubstr("line 4: node \"a\": 'state' must be \"active\" or \"leaving\""));
}

TEST(RingNodeFile, OnlyNodeTablesAtTopLevel) {
  EXPECT_THAT(error_of("partitions = 1024\n[[node]]\nid = \"a\"\ncapacity = 1\n"),
              HasSubstr("line 1: unknown top-level key 'partitions'"));
  EXPECT_THAT(error_of("[node]\nid = \"a\"\ncapacity = 1\n"),
              HasSubstr("line 1: 'node' must be an array of tables"));
  EXPECT_THAT(error_of("# nothing here\n"), HasSubstr("nodes.toml: no [[node]] tables"));
}

TEST(RingNodeFile, OversizedTextIsRefusedBeforeParsing) {
  const std::string text(kNodeFileBytesMax + 1, '#');
  const auto parsed = parse_node_file(text, "big.toml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), Code::too_large);
}

}  // namespace
}  // namespace ringkv
