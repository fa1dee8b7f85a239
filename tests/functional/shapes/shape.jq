# shape.jq - the structure of a JSON document without its values: every
# object keeps its keys with the shape of their values, every scalar becomes
# the name of its JSON type ("string", "number", "boolean", "null"), and an
# array becomes the sorted list of the distinct shapes of its elements (so
# that a list of 3 alerts of one kind and 1 of another has two entries, and
# "[]" stays "[]"). Used by record.sh on cscli's output and by
# cli_shapes.bats on phalanx's: `jq -S -f shape.jq`.
def shape:
  if type == "object" then with_entries(.value |= shape)
  elif type == "array" then map(shape) | unique
  else type
  end;
shape
