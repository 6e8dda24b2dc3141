extension AlertRule {
    /// What a server watches when nobody configured anything (VISION.md: "CPU > 80 % for 5
    /// minutes"). Each can be changed or switched off by a rule of the same name in the
    /// configuration file (`enabled: false`).
    public static let defaults: [AlertRule] = [
        AlertRule(
            name: "host_down", kind: .hostDown, severity: .critical,
            summary: "{{host}} is DOWN: {{reason}}"
        ),
        AlertRule(
            name: "cpu_high", series: "cpu.percent", aggregate: .avg, window: .minutes(1), op: .above, threshold: 80, recovery: 75,
            duration: .minutes(5), severity: .warning,
            summary: "CPU on {{host}} at {{value}}% (above {{threshold}}% for {{for}})"
        ),
        AlertRule(
            name: "memory_high", series: "memory.percent", aggregate: .avg, window: .minutes(1), op: .above, threshold: 90, recovery: 85,
            duration: .minutes(3), severity: .warning,
            summary: "memory on {{host}} at {{value}}% (above {{threshold}}% for {{for}})"
        ),
        AlertRule(
            name: "filesystem_full", series: "disk.partitions[*].percent", aggregate: .last, window: .minutes(1), op: .above, threshold: 90, recovery: 88,
            duration: .minutes(5), severity: .critical,
            summary: "filesystem {{key}} on {{host}} is {{value}}% full"
        ),
    ]
}
