-- The job queue (every key of redis's database 0) as valkey-cli input that rebuilds it elsewhere:
-- for a move with aws on one side, where ElastiCache can neither hand over nor load a server's
-- files. Run with EVAL ... 0 (sent as one line: bin/lib/queue.sh ft_queue_dump_command on a
-- host, the move tasks' queue containers on aws). Replies with an array of lines: first
-- `KEYS EXPIRES` (how many keys, how many of them with a TTL), then per key
-- `RESTORE "key" TTL "payload" REPLACE`, the key and DUMP's payload written as \xHH escapes
-- (valkey-cli reads them back byte for byte; a payload holds any byte, a newline included) and
-- TTL the key's remaining milliseconds (0: none). Read-only. One script, so no write can come
-- between the keys it reads. No double quote or backslash in this file: the line goes inside
-- "...". Comments are whole lines starting with --; the sender drops them.
local hex = {}
for b = 0, 255 do
  hex[string.char(b)] = string.char(92) .. 'x' .. string.format('%02x', b)
end
local q = string.char(34)
local function quoted(s)
  return q .. string.gsub(s, '.', hex) .. q
end
local out, seen, ttls, cursor = {}, {}, 0, '0'
repeat
  local page = redis.call('SCAN', cursor, 'COUNT', 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    -- SCAN may return a key twice (a rehash during the scan).
    local payload = not seen[key] and redis.call('DUMP', key)
    if payload then
      seen[key] = true
      local ttl = redis.call('PTTL', key)
      if ttl > 0 then
        ttls = ttls + 1
      else
        ttl = 0
      end
      out[#out + 1] = 'RESTORE ' .. quoted(key) .. ' ' .. ttl .. ' ' .. quoted(payload) .. ' REPLACE'
    end
  end
until cursor == '0'
table.insert(out, 1, #out .. ' ' .. ttls)
return out
