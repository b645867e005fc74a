/**
 * Decides whether a recording belongs to a course, and to which. Precedence, most
 * explicit first: the meeting id map (an operator named this very meeting), then
 * the topic patterns in order (the host wrote the code in the topic), then the
 * host email map (a default for everything a teacher records). Whatever decided
 * the course, the first topic-pattern match is removed from the topic used in
 * names: the course already has its own folder.
 */
import type { RecordingAvailable } from '../../shared/events';
import type { CourseRules } from './config';

export interface CourseMatch {
  course: string;
  matchedBy: 'meeting' | 'topic' | 'host';
  /** The topic without its course tag, for {topic}. */
  topicLabel: string;
}

type MatchInput = Pick<RecordingAvailable, 'meetingId' | 'topic' | 'hostEmail'>;

export function matchCourse(recording: MatchInput, rules: CourseRules): CourseMatch | undefined {
  const tagged = findTopicCourse(recording.topic, rules);
  const topicLabel = tagged ? removeRange(recording.topic, tagged.start, tagged.end) : recording.topic;

  const byMeeting = rules.meetings.get(recording.meetingId.replace(/[\s-]/g, ''));
  if (byMeeting) return { course: byMeeting, matchedBy: 'meeting', topicLabel };
  if (tagged) return { course: tagged.course, matchedBy: 'topic', topicLabel };
  const email = recording.hostEmail?.trim().toLowerCase();
  const byHost = email ? rules.hosts.get(email) : undefined;
  if (byHost) return { course: byHost, matchedBy: 'host', topicLabel };
  return undefined;
}

/** Why nothing matched, for RecordingRejected.explanation (no topic text: it is in the event already). */
export function explainNoMatch(recording: MatchInput, rules: CourseRules): string {
  const reasons: string[] = [];
  reasons.push(
    rules.topicPatterns.length === 0
      ? 'no topic pattern is configured'
      : `the topic matches none of ${rules.topicPatterns.length} course pattern(s) (${rules.topicPatterns.map((p) => `/${p.source}/`).join(', ')})`,
  );
  reasons.push(`meeting id ${recording.meetingId} is not mapped to a course`);
  reasons.push(recording.hostEmail ? 'the host email is not mapped to a course' : 'the recording has no host email');
  return `not a course meeting: ${reasons.join('; ')}`;
}

function findTopicCourse(topic: string, rules: CourseRules): { course: string; start: number; end: number } | undefined {
  for (const { regex } of rules.topicPatterns) {
    const match = regex.exec(topic);
    const course = match?.groups?.course?.trim();
    if (match && course) return { course: course.normalize('NFC'), start: match.index, end: match.index + match[0].length };
  }
  return undefined;
}

function removeRange(text: string, start: number, end: number): string {
  return `${text.slice(0, start)} ${text.slice(end)}`.replace(/\s+/g, ' ').trim();
}
