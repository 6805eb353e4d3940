import SanlianStandin
import ServiceFrame

await ServiceMain.run(StandinFront.self)
