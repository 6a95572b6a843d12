-- One page of the job queue (the keys of redis's database 0) as valkey-cli input that rebuilds
-- it elsewhere: for a move with aws on one side, where ElastiCache can neither hand over nor
-- load a server's files. Run with EVAL ... 0 CURSOR COUNT (sent as one line:
-- bin/move-lib.sh ft_move_queue_dump on a host, the move tasks' queue containers on aws), from
-- cursor 0 until the cursor it returns is 0 again: one page at a time, so that a live redis (a
-- prepare) is never blocked for longer than COUNT keys take. Replies with an array of lines:
-- first SCAN's next cursor, then per key `RESTORE "key" TTL "payload" REPLACE`, the key and
-- DUMP's payload written as \xHH escapes (valkey-cli reads them back byte for byte; a payload
-- holds any byte, a newline included) and TTL the key's remaining milliseconds (0: none).
-- Read-only. No double quote or backslash in the code: the line goes inside "...". Comments are
-- whole lines starting with --; the sender drops them.
local hex = {}
for b = 0, 255 do
  hex[string.char(b)] = string.char(92) .. 'x' .. string.format('%02x', b)
end
local q = string.char(34)
local function quoted(s)
  return q .. string.gsub(s, '.', hex) .. q
end
local page = redis.call('SCAN', ARGV[1], 'COUNT', ARGV[2])
local out = {page[1]}
for _, key in ipairs(page[2]) do
  local payload = redis.call('DUMP', key)
  if payload then
    local ttl = redis.call('PTTL', key)
    if ttl == 0 then
      -- Expiring this very millisecond: 0 would make it a key without a TTL.
      ttl = 1
    elseif ttl < 0 then
      ttl = 0
    end
    out[#out + 1] = 'RESTORE ' .. quoted(key) .. ' ' .. ttl .. ' ' .. quoted(payload) .. ' REPLACE'
  end
end
return out
