/** `igbert doctor`: what this machine offers (CPU, ONNX Runtime, WebGPU, the CUDA engine and its GPUs), and what --device auto picks. */
import type { Command } from 'commander';
import { doctor, type DoctorReport } from '../../node/doctor.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('Show what this machine offers igbert: CPU, ONNX Runtime, GPUs, the CUDA engine (built? which GPUs?), and which device --device auto picks.')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExamples:\n  igbert doctor\n  igbert doctor --json | jq .cuda')
    .action(async (options: { json?: boolean }) => {
      const report = await doctor();
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    });
}

export function formatReport(report: DoctorReport): string {
  const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  const lines = [
    `igbert ${report.igbert} on Node ${report.node}, ${report.os}`,
    `CPU: ${report.cpu.model}, ${report.cpu.threads} threads, ${gib(report.cpu.memoryBytes)} memory`,
    `ONNX Runtime: ${report.onnxruntime}`,
    `CUDA engine: ${report.cuda.addon}${report.cuda.runtime ? ` (CUDA runtime ${report.cuda.runtime}, driver ${report.cuda.driver}, cuBLASLt ${report.cuda.cublasLt})` : ''}`,
    '',
    'devices (in the order --device auto tries them):',
    ...report.devices.map((d) => `  ${d.usable ? 'yes' : 'no '} ${d.device.padEnd(7)} ${d.detail}`),
    '',
    `--device auto would start: ${report.auto}`,
  ];
  return `${lines.join('\n')}\n`;
}
