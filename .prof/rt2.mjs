import pg from 'pg';
const big = 'x'.repeat(Number(process.env.SIZE ?? 10000));
for (const host of ['127.0.0.1', '/var/run/postgresql']) {
  const c = new pg.Client({ host, user: 'postgres', database: 'postgres' });
  await c.connect();
  for (let i = 0; i < 300; i++) await c.query({ text: 'SELECT length($1::text)', values: [big], name: 's1' });
  const cpu0 = process.cpuUsage(); const t = performance.now(); const n = 3000;
  for (let i = 0; i < n; i++) await c.query({ text: 'SELECT length($1::text)', values: [big], name: 's1' });
  const ms = performance.now() - t; const cpu = process.cpuUsage(cpu0);
  console.log(host, (ms / n * 1000).toFixed(0), 'us/rt wall', ((cpu.user + cpu.system) / n).toFixed(0), 'us node cpu/rt', (cpu.system / n).toFixed(0), 'us sys');
  await c.end();
}
