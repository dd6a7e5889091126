extension CronExpression {
    /// The expression as 6 cron fields (seconds first), each as short as it can be written:
    /// `0 0 9 * * 1-5`. Calendar specs whose weekday and date both restrict the day have no cron
    /// form (cron would run on either); they are written with `&` between the day fields.
    public var normalized: String {
        let (dom, dow) = (dayOfMonthField, dayOfWeekField)
        let fields = [Self.render(seconds, range: 0...59), Self.render(minutes, range: 0...59), Self.render(hours, range: 0...23),
                      dom, Self.render(months, range: 1...12), dow].joined(separator: " ")
        return dayMatching == .both && dom != "*" && dow != "*" ? fields + " (day-of-month and day-of-week both)" : fields
    }

    /// Under cron's either-day rule, a field that matches every day makes every day run: both fields
    /// are then `*` (writing `*` for that one field alone would switch to the both-days rule).
    var everyDayEither: Bool { dayMatching == .either && (everyDayOfMonth || everyDayOfWeek) }

    var dayOfMonthField: String {
        if everyDayEither { return "*" }
        var items: [String] = []
        if daysOfMonth != 0 { items.append(Self.render(daysOfMonth, range: 1...31)) }
        items += lastDayOffsets.sorted().map { $0 == 0 ? "L" : "L-\($0)" }
        items += nearestWeekdays.sorted().map { "\($0)W" }
        if lastWeekday { items.append("LW") }
        return items.isEmpty ? "*" : items.joined(separator: ",")
    }

    var dayOfWeekField: String {
        if everyDayEither { return "*" }
        var items: [String] = []
        if daysOfWeek != 0 { items.append(Self.render(daysOfWeek, range: 0...6)) }
        items += lastOfWeekdays.sorted().map { "\($0)L" }
        items += nthWeekdays.sorted().map { "\($0 / 10)#\($0 % 10)" }
        return items.isEmpty ? "*" : items.joined(separator: ",")
    }

    /// `*`, `*/n`, `a-b/n` or a list of values and ranges.
    static func render(_ set: UInt64, range: ClosedRange<Int>) -> String {
        let values = range.filter { set & 1 << UInt64($0) != 0 }
        guard !values.isEmpty else { return "*" }
        if values.count == range.count { return "*" }
        if values.count > 2 {
            let step = values[1] - values[0]
            if step > 1, zip(values, values.dropFirst()).allSatisfy({ $1 - $0 == step }) {
                if values[0] == range.lowerBound, values.last! + step > range.upperBound { return "*/\(step)" }
                return "\(values[0])-\(values.last!)/\(step)"
            }
        }
        var items: [String] = []
        var index = 0
        while index < values.count {
            var end = index
            while end + 1 < values.count, values[end + 1] == values[end] + 1 { end += 1 }
            if end - index >= 2 { items.append("\(values[index])-\(values[end])") } else {
                items += values[index...end].map(String.init)
            }
            index = end + 1
        }
        return items.joined(separator: ",")
    }
}
