/** The release version; kept equal to CHANGELOG.md and the chart's appVersion (a unit test checks). */
export const VERSION = "0.1.0";
