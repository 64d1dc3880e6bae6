# Programs: one per src/<prog>/deps-exe/<prog>.
BIN_TARGETS := $(notdir $(filter-out src/tests/%,$(wildcard src/*/deps-exe/*)))
# Unit test programs: src/tests/<name>.c with src/tests/deps-exe/<name>.
TEST_TARGETS := $(notdir $(wildcard src/tests/deps-exe/*))
