-- Applies one bus event to a player's windowed aggregates and evaluates the
-- rules that read them, atomically, so a crash can never leave an event
-- counted without its de-duplication marker or the other way round.
--
-- KEYS[1]   marker of the event id: "done", or the pending firings of an
--           event whose interventions are not yet committed to PostgreSQL
-- KEYS[2..] series, activity and fired keys, referred to by index in the plan
-- ARGV[1]   plan (JSON):
--   t         event time (occurredAt) in epoch milliseconds
--   markerTtl marker lifetime in milliseconds
--   series    [{k, member, keep}]  sorted sets to add the event's entry to
--   checks    [{r, kind, k, f, w, cd, keep, th, amount, member, range}]
--     r rule id, k series key, f fired key (last firing time), w window or
--     idle gap, cd cooldown (-1: none), keep lifetime of the fired key, th
--     thresholds of the event's currency, amount of a single transaction,
--     member and range (how far to read around t) of a session check
--
-- Returns {"applied" | "pending" | "done", firings}, where firings is the
-- marker's text: one line per firing, "ruleId,windowStart,windowEnd,name=value;...".
-- windowStart is "" when the rule has no window. "pending" means an earlier
-- delivery applied the event and these firings may not be committed yet.

local function int(x)
  return string.format('%d', x)
end

local marker = redis.call('GET', KEYS[1])
if marker then
  if marker == 'done' then return {'done', ''} end
  return {'pending', marker}
end

local plan = cjson.decode(ARGV[1])
local t = plan.t

-- Entries are members "eventId|amount|counted" scored by event time. The
-- event id in the member makes a second ZADD of one event a no-op as well.
for _, s in ipairs(plan.series) do
  local key = KEYS[s.k]
  redis.call('ZADD', key, t, s.member)
  local newest = t
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if last[2] and tonumber(last[2]) > newest then newest = tonumber(last[2]) end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. int(newest - s.keep))
  redis.call('PEXPIRE', key, s.keep)
end

local function fetch(key, minScore, maxScore)
  local raw = redis.call('ZRANGEBYSCORE', key, minScore, maxScore, 'WITHSCORES')
  local entries = {}
  for i = 1, #raw, 2 do
    local id, amount, counted = string.match(raw[i], '^(.*)|(-?%d+)|([01])$')
    entries[#entries + 1] = { id = id, member = raw[i], score = tonumber(raw[i + 1]), amount = tonumber(amount), counted = counted == '1' }
  end
  return entries
end

local function lastFired(key)
  local value = redis.call('GET', key)
  if value then return tonumber(value) end
  return nil
end

local function recordFired(key, at, previous, keep)
  if previous and previous > at then at = previous end
  redis.call('SET', key, int(at), 'PX', keep)
end

local function escalationSteps(entries, lo, hi, levels)
  local steps, highest, maxAmount = 0, 0, 0
  for i = lo, hi do
    local e = entries[i]
    if e.counted then
      if e.amount > maxAmount then maxAmount = e.amount end
      local level = 0
      for l = 1, #levels do
        if e.amount >= levels[l] then level = l end
      end
      if level > highest then
        steps = steps + 1
        highest = level
      end
    end
  end
  return steps, maxAmount
end

-- Evaluates the windows (end - w, end] for every entry time end in [t, t + w),
-- which are the windows this event falls into. An event that arrives in
-- order has only end = t; a late one may complete a later window. Returns
-- the first window that reaches the threshold and is not suppressed.
local function evaluateWindowed(c)
  local w = c.w
  local entries = fetch(KEYS[c.k], '(' .. int(t - w), '(' .. int(t + w))
  local fired = lastFired(KEYS[c.f])
  local gap = w
  if c.cd > gap then gap = c.cd end
  local th = c.th
  local sum, count = 0, 0
  local lo, nextIn = 1, 1
  local n = #entries

  local function inBand(e)
    return e.counted and e.amount >= th.reportingMinor - th.bandMinor and e.amount < th.reportingMinor
  end
  local function add(e, sign)
    sum = sum + sign * e.amount
    if c.kind == 'structuring' then
      if inBand(e) then count = count + sign end
    elseif e.counted then
      count = count + sign
    end
  end

  for j = 1, n do
    local endScore = entries[j].score
    local lastOfGroup = j == n or entries[j + 1].score ~= endScore
    if lastOfGroup and endScore >= t then
      while nextIn <= j do
        add(entries[nextIn], 1)
        nextIn = nextIn + 1
      end
      while lo <= j and entries[lo].score <= endScore - w do
        add(entries[lo], -1)
        lo = lo + 1
      end

      local values = nil
      if c.kind == 'windowed_sum' and sum >= th.sumMinor then
        values = 'sumMinor=' .. int(sum) .. ';count=' .. int(count)
      elseif c.kind == 'windowed_count' and count >= th.count then
        values = 'count=' .. int(count) .. ';sumMinor=' .. int(sum)
      elseif c.kind == 'structuring' and count >= th.count then
        values = 'count=' .. int(count)
      elseif c.kind == 'bonus_escalation' then
        local steps, maxAmount = escalationSteps(entries, lo, j, th.levelsMinor)
        if steps >= th.levelsCrossed then
          values = 'levelsCrossed=' .. int(steps) .. ';maxAmountMinor=' .. int(maxAmount)
        end
      end

      if values and not (fired and math.abs(endScore - fired) < gap) then
        recordFired(KEYS[c.f], endScore, fired, c.keep)
        return c.r .. ',' .. int(endScore - w) .. ',' .. int(endScore) .. ',' .. values
      end
    end
  end
  return nil
end

-- A session is a run of game events with no gap longer than the idle gap.
-- Finds the session that contains this event and fires when it has reached
-- the length, once per session unless a cooldown lets it fire again.
local function evaluateSession(c)
  local lower = t - c.range
  local entries = fetch(KEYS[c.k], int(lower), int(t + c.range))
  local index = nil
  for i = 1, #entries do
    if entries[i].member == c.member then index = i end
  end
  if not index then return nil end

  local first, last = index, index
  while first > 1 and entries[first].score - entries[first - 1].score <= c.w do first = first - 1 end
  while last < #entries and entries[last + 1].score - entries[last].score <= c.w do last = last + 1 end
  local sessionStart, sessionEnd = entries[first].score, entries[last].score
  -- Older entries were trimmed or not fetched, so the session may start earlier.
  local startUnknown = first == 1 and sessionStart - lower <= c.w

  if sessionEnd - sessionStart < c.th.sessionSeconds * 1000 then return nil end

  local fired = lastFired(KEYS[c.f])
  if fired then
    local sameSession = (fired >= sessionStart and fired <= sessionEnd) or (startUnknown and fired < sessionStart)
    if sameSession and (c.cd < 0 or sessionEnd - fired < c.cd) then return nil end
  end
  recordFired(KEYS[c.f], sessionEnd, fired, c.keep)
  local seconds = math.floor((sessionEnd - sessionStart) / 1000)
  return c.r .. ',' .. int(sessionStart) .. ',' .. int(sessionEnd) .. ',sessionSeconds=' .. int(seconds)
end

local function evaluateSingle(c)
  if c.amount < c.th.amountMinor then return nil end
  if c.cd >= 0 then
    local fired = lastFired(KEYS[c.f])
    if fired and math.abs(t - fired) < c.cd then return nil end
    recordFired(KEYS[c.f], t, fired, c.keep)
  end
  return c.r .. ',,' .. int(t) .. ',amountMinor=' .. int(c.amount)
end

local firings = {}
for _, c in ipairs(plan.checks) do
  local firing
  if c.kind == 'session_length' then
    firing = evaluateSession(c)
  elseif c.kind == 'single_transaction' then
    firing = evaluateSingle(c)
  else
    firing = evaluateWindowed(c)
  end
  if firing then firings[#firings + 1] = firing end
end

local text = table.concat(firings, '\n')
if #firings == 0 then
  redis.call('SET', KEYS[1], 'done', 'PX', plan.markerTtl)
else
  redis.call('SET', KEYS[1], text, 'PX', plan.markerTtl)
end
return {'applied', text}
