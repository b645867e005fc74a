/**
 * What the sandbox delivers: one course lesson with the mix of files Zoom sends
 * (two camera views, audio, transcript, chat, captions, timeline, and a one-minute
 * clip from a restart) and one staff meeting, so the run shows what is archived,
 * what is skipped by the rules, and what is rejected.
 */
import type { SimulatedRecordingSpec } from '../zoom-simulator/simulator';

const MiB = 1024 * 1024;
const start = '2026-11-26T17:00:00Z';
const end = '2026-11-26T17:55:00Z';

export function sampleRecordings(): SimulatedRecordingSpec[] {
  return [
    {
      topic: '[MAQ101] Maqam Bayati — lesson 3',
      startTime: start,
      durationMinutes: 56,
      timezone: 'Europe/Berlin',
      hostEmail: 'teacher@example.com',
      files: [
        { fileType: 'MP4', recordingType: 'shared_screen_with_speaker_view', size: 96 * MiB + 12_345, recordingStart: start, recordingEnd: end },
        { fileType: 'MP4', recordingType: 'gallery_view', size: 64 * MiB + 54_321, recordingStart: start, recordingEnd: end },
        { fileType: 'MP4', recordingType: 'speaker_view', size: 2 * MiB, recordingStart: '2026-11-26T17:55:30Z', recordingEnd: '2026-11-26T17:56:30Z' },
        { fileType: 'M4A', recordingType: 'audio_only', size: 12 * MiB, recordingStart: start, recordingEnd: end },
        { fileType: 'TRANSCRIPT', recordingType: 'audio_transcript', recordingStart: start, recordingEnd: end, content: 'WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nMarhaba, today: maqam Bayati.\n' },
        { fileType: 'CHAT', recordingType: 'chat_file', recordingStart: start, recordingEnd: end, content: '17:02:11 From Layla to Everyone: Is the recording on?\n' },
        { fileType: 'CC', recordingStart: start, recordingEnd: end, content: 'WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\nMarhaba\n' },
        { fileType: 'TIMELINE', recordingStart: start, recordingEnd: end, content: '{"timeline":[]}' },
      ],
    },
    {
      topic: 'Staff meeting — budget',
      startTime: '2026-11-26T15:00:00Z',
      durationMinutes: 40,
      files: [{ fileType: 'MP4', recordingType: 'speaker_view', size: 8 * MiB, recordingStart: '2026-11-26T15:00:00Z', recordingEnd: '2026-11-26T15:40:00Z' }],
    },
  ];
}
