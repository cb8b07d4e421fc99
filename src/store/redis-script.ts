/**
 * The Lua script that reads and updates one behaviour key in Redis, built
 * from the same window definitions as the memory store.
 *
 * Each behaviour key owns two Redis keys with the same hash tag, so a script
 * call touches one cluster slot:
 * - `<prefix>{<key>}:s`, a hash: `first` (first-seen time in ms), the
 *   counters `vham`, `vspam`, `rspam`, `rham`, and one field per window
 *   bucket slot (`m0`..`m5`, `h0`..`h11`, `d0`..`d23`) holding
 *   `<bucket index>:<count>`, so the hash never grows past 47 fields;
 * - `<prefix>{<key>}:r`, a HyperLogLog of recipient digests.
 */

import { WINDOWS } from './windows.js';

/** Hash fields of the counters, by label. */
export const VERDICT_FIELDS = { ham: 'vham', spam: 'vspam' } as const;
export const REPORT_FIELDS = { ham: 'rham', spam: 'rspam' } as const;

/** Recipients per PFADD call inside the script, below Lua's limit on unpack() arguments. */
const PFADD_CHUNK = 500;

const windowTable = WINDOWS.map((window) => `{'${window.field}', ${window.bucketMs}, ${window.buckets}}`).join(', ');
/** Hash fields the script reads, as a Lua table literal, so the script does not build 47 names on each call. */
const readFields = ['first', 'vham', 'vspam', 'rspam', 'rham', ...WINDOWS.flatMap((window) => Array.from({ length: window.buckets }, (_, slot) => `${window.field}${slot}`))]
  .map((field) => `'${field}'`)
  .join(', ');

/**
 * KEYS[1]: stats hash. KEYS[2]: recipient HyperLogLog.
 * ARGV[1]: now in ms. ARGV[2]: TTL in ms. ARGV[3]: verdict field to
 * increment after the read, or an empty string. ARGV[4]: number N of
 * pending increments. ARGV[5..4+2N]: pending increments as field, amount
 * pairs, applied before the read. ARGV[5+2N..]: recipient digests.
 * Returns the stats before this message, pending increments included:
 * {count1m, count1h, count24h, first-seen ms or -1, distinct recipients,
 * vham, vspam, rspam, rham}.
 */
export const OBSERVE_SCRIPT = `
local now = tonumber(ARGV[1])
local pendingCount = tonumber(ARGV[4])
for i = 0, pendingCount - 1 do
  redis.call('HINCRBY', KEYS[1], ARGV[5 + 2 * i], ARGV[6 + 2 * i])
end
-- The TTL is set here too, so a hash created above keeps one when a later command fails.
if pendingCount > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local firstDigest = 5 + 2 * pendingCount
local windows = {${windowTable}}
local values = redis.call('HMGET', KEYS[1], ${readFields})
local result = {}
local updates = {}
local position = 6
for w = 1, #windows do
  local name, width, size = windows[w][1], windows[w][2], windows[w][3]
  local index = math.floor(now / width)
  local own = index % size
  local total = 0
  local ownBucket, ownCount = nil, 0
  for slot = 0, size - 1 do
    local value = values[position + slot]
    if value then
      local bucket, count = string.match(value, '^(%d+):(%d+)$')
      bucket = tonumber(bucket)
      count = tonumber(count)
      if bucket and count then
        if bucket > index - size then total = total + count end
        if slot == own then ownBucket, ownCount = bucket, count end
      end
    end
  end
  position = position + size
  result[w] = total
  if ownBucket == index then
    updates[#updates + 1] = name .. own
    updates[#updates + 1] = string.format('%d:%d', index, ownCount + 1)
  elseif ownBucket == nil or ownBucket < index then
    updates[#updates + 1] = name .. own
    updates[#updates + 1] = string.format('%d:1', index)
  end
end
local first = tonumber(values[1])
if first == nil or now < first then
  updates[#updates + 1] = 'first'
  updates[#updates + 1] = ARGV[1]
end
result[4] = first or -1
result[5] = redis.call('PFCOUNT', KEYS[2])
for i = 2, 5 do result[i + 4] = tonumber(values[i]) or 0 end
if #updates > 0 then redis.call('HSET', KEYS[1], unpack(updates)) end
if ARGV[3] ~= '' then redis.call('HINCRBY', KEYS[1], ARGV[3], 1) end
for start = firstDigest, #ARGV, ${PFADD_CHUNK} do
  redis.call('PFADD', KEYS[2], unpack(ARGV, start, math.min(start + ${PFADD_CHUNK - 1}, #ARGV)))
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return result
`;

/**
 * Applies pending increments to a behaviour key that the same call does not
 * observe, and restarts the TTL of both its Redis keys.
 * KEYS[1]: stats hash. KEYS[2]: recipient HyperLogLog. ARGV[1]: TTL in ms.
 * ARGV[2..]: field, amount pairs. Returns 1.
 */
export const INCREMENT_SCRIPT = `
for i = 2, #ARGV - 1, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
`;
